"""The claims engine on simulated data with planted effects, and on bad input."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest

from neurosig.claims import circularity_guard, load_claims, pool_evidence, validate_claims
from neurosig.errors import InputDataError
from neurosig.sim import SimParams, simulate_adata
from neurosig.tl import test_claims


@pytest.fixture(scope="module")
def planted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simulate_adata(
            SimParams(n_patients=8, n_cells=2400, n_genes=1000, seed=1, neural_loading=0.6, mhc_effect=-0.5)
        )


@pytest.fixture(scope="module")
def null():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simulate_adata(SimParams(n_patients=8, n_cells=2400, n_genes=1000, seed=2))


def test_planted_mhc_loss_is_supported_and_null_is_not(planted, null):
    ev = test_claims(planted, only=["A1"]).iloc[0]
    assert ev["verdict"] == "supported" and ev["effect"] < -0.3
    assert ev["n_patients"] == 8 and ev["ci_high"] < 0
    assert ev["lmm_slope"] < 0 and ev["lmm_pvalue"] < 1e-6  # the mixed model agrees
    assert ev["ols_slope"] < 0  # and so does the complexity-adjusted slope
    ev0 = test_claims(null, only=["A1"]).iloc[0]
    # no effect claimed: its interval straddles 0 (and may sit inside +-min_effect: "negligible")
    assert ev0["verdict"] in {"inconclusive", "negligible"} and ev0["ci_low"] < 0 < ev0["ci_high"]
    pp = pd.DataFrame(test_claims(planted, only=["A1"]).attrs["per_patient"])
    assert len(pp) == 8 and (pp["rho"] < 0).all()


def test_results_are_stored_and_patient_level_uses_the_glm(planted):
    a = planted.copy()
    ev = test_claims(a, only=["B1", "B6", "A1"])
    assert set(a.uns["neurosig"]["claims"]) == {"evidence", "per_patient", "settings"}
    b1 = ev.set_index("claim").loc["B1"]
    assert b1["effect_type"].startswith("log_odds") and b1["n_patients"] == 8
    assert b1["verdict"] in {"inconclusive", "supported", "contradicted"}
    assert b1["ci_low"] < b1["effect"] < b1["ci_high"]


def test_one_patient_is_not_testable_with_the_reason(planted):
    one = planted[planted.obs["patient"] == "P001"].copy()
    ev = test_claims(one, only=["A1", "B1"]).set_index("claim")
    assert ev.loc["A1", "verdict"] == "not testable" and "1 patient(s)" in ev.loc["A1", "reason"]
    assert ev.loc["B1", "verdict"] == "not testable" and "need 5" in ev.loc["B1", "reason"]


def test_all_constant_scores_are_not_testable(planted):
    a = planted.copy()
    a.obs["n_genes"] = a.obs["n_genes"].astype(float)
    import scipy.sparse as sp

    x = a.X.tolil() if sp.issparse(a.X) else a.X.copy()
    x[:, a.var_names.get_loc("NTRK2")] = 0.0
    a.X = sp.csr_matrix(x)
    ev = test_claims(a, only=["A3"]).iloc[0]
    assert ev["verdict"] == "not testable" and "constant" in ev["reason"]


def test_missing_covariate_and_columns_raise(planted):
    a = planted.copy()
    del a.obs["n_genes"]
    with pytest.raises(InputDataError, match="n_genes"):
        test_claims(a, only=["A1"])
    b = planted.copy()
    del b.obs["patient"]
    with pytest.raises(InputDataError, match="patient"):
        test_claims(b)


def test_sorted_cells_are_left_out_of_fractions(planted):
    a = planted.copy()
    a.obs_names = [f"MGH1CD45neg-{i}" for i in range(a.n_obs)]
    ev = test_claims(a, only=["B1"]).iloc[0]
    assert ev["verdict"] == "not testable" and "sorted gate" in ev["reason"]


def test_circularity_guard_drops_shared_genes_from_the_larger_side():
    x = {"NLGN3": 1.0}
    y = {"NLGN3": 1.0, "PDGFRA": 1.0, "OLIG1": 1.0}
    gx, gy, note = circularity_guard(x, y)
    assert gx == x and set(gy) == {"PDGFRA", "OLIG1"} and "removed NLGN3" in note and "from y" in note
    assert circularity_guard({"A": 1.0}, {"B": 1.0})[2] == ""


def test_circularity_is_recorded_in_the_evidence(planted):
    doc = copy.deepcopy(load_claims())
    doc["claims"] = {
        "X1": {
            "statement": "MHC-I machinery vs APM",
            "level": "cell",
            "population": ["malignant"],
            "x": {"signature": "MHC_I_machinery"},
            "y": {"signature": "APM18_Wang2019"},
            "expected": "positive",
        }
    }
    ev = test_claims(planted, validate_claims(doc)).iloc[0]
    assert "removed" in ev["circularity"] and "TAP1" in ev["circularity"] and "from y" in ev["circularity"]


def test_unknown_signature_or_cell_type_in_a_claim():
    doc = copy.deepcopy(load_claims())
    doc["claims"]["A1"]["y"] = {"signature": "MHC_I_machinry"}
    with pytest.raises(InputDataError, match="MHC_I_machinery"):
        validate_claims(doc)
    doc = copy.deepcopy(load_claims())
    doc["claims"]["A1"]["population"] = ["malignent"]
    with pytest.raises(InputDataError, match="unknown"):
        validate_claims(doc)
    doc = copy.deepcopy(load_claims())
    doc["claims"]["B1"]["y"] = {"fraction": ["CD8"]}
    with pytest.raises(InputDataError, match="unknown cell types"):
        validate_claims(doc)


def test_every_claim_of_claims_md_is_in_the_registry():
    ids = set(load_claims()["claims"])
    assert {f"A{i}" for i in range(1, 7)} | {f"B{i}" for i in range(1, 7)} | {
        f"C{i}" for i in range(1, 13)
    } <= ids


def test_pooling_over_datasets_uses_the_dataset_as_unit(planted, null):
    a = test_claims(planted, only=["A1"], dataset="d1")
    b = test_claims(planted, only=["A1"], dataset="d2")
    c = test_claims(null, only=["A1"], dataset="d3")
    pooled = pool_evidence([a, b, c])
    row = pooled[pooled["dataset"] == "pooled"].iloc[0]
    assert "3 datasets" in row["reason"]
    # two strong and one null dataset: heterogeneity is large and the interval wide
    assert row["i2"] > 50 and row["ci_low"] < a.iloc[0]["ci_low"]
    single = pool_evidence([a])
    assert single.iloc[-1]["effect"] == pytest.approx(a.iloc[0]["effect"])
    assert len(pd.concat([a, b])) == 2 and np.isfinite(row["pvalue"])
