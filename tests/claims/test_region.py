"""Region level (multi-region): within each tumour across its samples, pooled across patients."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from neurosig.claims import load_claims
from neurosig.tl import test_claims
from tests.claims.bulk_inputs import atlas, scored, simulated_atlas
from tests.conftest import MIRROR

HAS_ATLAS = (MIRROR / "gliomaatlas3d" / "metadata" / "sampledata_v12.rds").is_file()


@pytest.mark.skipif(not HAS_ATLAS, reason="gliomaatlas3d mirror not found")
def test_real_atlas_gives_within_tumour_verdicts_over_at_least_10_patients():
    a = scored(atlas(MIRROR), ["neural_interaction_composite", "CD8_Teff_Mariathasan2018"], "sc")
    ev = test_claims(a, load_claims(), only=["B1_region", "P5_region_neural"], score_key="sc", inplace=False)
    row = ev.set_index("claim").loc["B1_region"]
    assert row["data_type"] == "multi_region"
    assert row["n_patients"] >= 10 and row["adjusted_for"].startswith("purity")
    assert np.isfinite(row["lmm_slope"]) and np.isfinite(row["i2"])
    # each patient's raw rho is scipy's Spearman over that tumour's samples (with purity known)
    pp = [r for r in ev.attrs["per_patient"] if r["claim"] == "B1_region"]
    assert len(pp) == row["n_patients"]
    first = pp[0]
    m = (a.obs["patient"] == first["patient"]).to_numpy() & a.obs["purity"].notna().to_numpy()
    s = a.obsm["sc"][m]
    ref = sps.spearmanr(s["neural_interaction_composite"], s["CD8_Teff_Mariathasan2018"]).statistic
    assert first["rho_unadjusted"] == pytest.approx(ref, abs=1e-12) and first["n_cells"] == m.sum()


def test_purity_confounding_is_removed_and_a_planted_effect_found():
    doc = load_claims()
    a = simulated_atlas(12, 12, 4, key="s")
    ev = test_claims(a, doc, only=["B1_region"], score_key="s", inplace=False).iloc[0]
    assert ev["effect_unadjusted"] < -0.3  # x and y both follow purity
    assert abs(ev["effect"]) < 0.15 and ev["verdict"] != "supported"
    b = simulated_atlas(12, 12, 4, effect=-0.8, key="s")
    ev = test_claims(b, doc, only=["B1_region"], score_key="s", inplace=False).iloc[0]
    assert ev["verdict"] == "supported" and ev["lmm_slope"] < 0 and ev["lmm_pvalue"] < 0.05


def test_an_obs_column_is_a_variable_and_short_tumours_are_left_out_with_their_names():
    a = simulated_atlas(5, 8, 1, key="s")
    a = a[~((a.obs["patient"] == "P000") & (a.obs["region"].isin(["v1", "v2", "v3"])))].copy()
    ev = test_claims(a, load_claims(), only=["B1_region_P5"], score_key="s", inplace=False).iloc[0]
    assert ev["x"] == "obs:dist_periphery"
    assert ev["n_patients"] == 4 and "P000 (5)" in ev["reason"]
