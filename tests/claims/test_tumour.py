"""Tumour level (bulk): raw and adjusted Spearman across a cohort's tumours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps

from neurosig.claims import load_claims
from neurosig.tl import test_claims
from tests.claims.bulk_inputs import gliovis_cohort, scored, simulated_cohort
from tests.conftest import MIRROR

HAS_BULK = (MIRROR / "gliovis_bulk" / "Ducray.Rds").is_file()
needs_bulk = pytest.mark.skipif(not HAS_BULK, reason="gliovis_bulk mirror not found")
KEY = "neurosig_score_genes"


@pytest.fixture(scope="module")
def ducray():
    """Ducray 2008 (52 GBMs, subtype calls, survival), scored per sample with score_genes."""
    if not HAS_BULK:
        pytest.skip("gliovis_bulk mirror not found")
    a = gliovis_cohort(MIRROR, "Ducray")
    return scored(
        a, ["neural_interaction_composite", "CD8_Teff_Mariathasan2018", "marker_Mature_neurons"], KEY
    )


@needs_bulk
def test_real_cohort_raw_rho_is_scipy_and_adjusted_is_partial_rank_correlation(ducray):
    ev = test_claims(ducray, only=["B1_bulk"], score_key=KEY, inplace=False).iloc[0]
    s = ducray.obsm[KEY]
    x, y = s["neural_interaction_composite"], s["CD8_Teff_Mariathasan2018"]
    assert ev["data_type"] == "bulk" and ev["cohort_group"] == "adult"
    assert ev["n_patients"] == 52
    assert ev["effect_unadjusted"] == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)
    # adjusted: the ranks of x and y residualised on the covariates the row names (statsmodels OLS)
    assert ev["adjusted_for"] == "neuron_content (marker_Mature_neurons), subtype_gbm"
    sub = pd.get_dummies(ducray.obs["subtype"].astype("string").fillna("unknown"), dtype=float)
    counts = sub.sum()
    levels = [c for c in counts.sort_values(ascending=False, kind="stable").index if counts[c] >= 3][1:]
    design = np.column_stack([sps.rankdata(s["marker_Mature_neurons"]), sub[levels].to_numpy()])
    design = sm.add_constant(design)
    ex = sm.OLS(sps.rankdata(x), design).fit().resid
    ey = sm.OLS(sps.rankdata(y), design).fit().resid
    assert ev["effect"] == pytest.approx(np.corrcoef(ex, ey)[0, 1], abs=1e-10)
    # Fisher-z interval with variance 1.06 / (n - 3 - k), k = 1 + subtype levels
    k = design.shape[1] - 1
    z, se = np.arctanh(ev["effect"]), np.sqrt(1.06 / (52 - 3 - k))
    assert ev["ci_low"] == pytest.approx(np.tanh(z - 1.959964 * se), abs=1e-6)
    assert "purity (unknown in 52/52 samples)" in ev["reason"]


def test_confounding_alone_is_not_a_verdict_and_a_planted_effect_is():
    doc = load_claims()
    # x and y both follow purity and subtype: raw rho is strongly negative, adjusted near 0
    # (over 30 such cohorts the adjusted rho averaged 0.014, SD 0.053, and 1/30 had p < 0.05)
    a = simulated_cohort(300, 0, key="s")
    ev = test_claims(a, doc, only=["B1_bulk"], score_key="s", inplace=False).iloc[0]
    assert ev["effect_unadjusted"] < -0.25 and ev["pvalue_unadjusted"] < 1e-6
    assert abs(ev["effect"]) < 0.1 and ev["pvalue"] > 0.05 and ev["verdict"] == "inconclusive"
    assert "purity" in ev["adjusted_for"] and "subtype_gbm" in ev["adjusted_for"]
    b = simulated_cohort(300, 0, effect=-0.6, key="s")
    ev = test_claims(b, doc, only=["B1_bulk"], score_key="s", inplace=False).iloc[0]
    assert ev["verdict"] == "supported" and ev["effect"] < -0.2


def test_bulk_claims_run_only_on_bulk_data_and_single_cell_claims_only_on_cells():
    doc = load_claims()
    a = simulated_cohort(40, 1, key="s")
    ev = test_claims(a, doc, score_key="s", inplace=False)
    levels = set(ev["level"])
    assert levels == {"tumour", "survival"}, levels
    assert set(ev["data_type"]) == {"bulk"}
    a.uns["neurosig"]["modality"] = "spatial"
    with pytest.raises(Exception, match="modality"):
        test_claims(a, doc, inplace=False)


def test_too_few_tumours_is_not_testable():
    a = simulated_cohort(8, 1, key="s")
    ev = test_claims(a, load_claims(), only=["B1_bulk"], score_key="s", inplace=False).iloc[0]
    assert ev["verdict"] == "not testable" and "8 tumour(s)" in ev["reason"]
