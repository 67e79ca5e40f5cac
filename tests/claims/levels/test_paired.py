"""The paired level (proxy P5): per patient region A - region B, sign-flip over patients.

Checked against scipy's own tests (``scipy.stats.permutation_test`` with sign flips,
``scipy.stats.wilcoxon``), on a simulated paired dataset where a planted HFC effect is
found and a null one is not, and on the Krishna 2023 design (3 patients: not testable).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from neurosig.claims import load_claims, validate_claims
from neurosig.claims.levels.paired import LEVEL
from neurosig.claims.stats import sign_flip_test
from neurosig.errors import InputDataError
from neurosig.sim import RegionEffect, SimParams, simulate_adata
from neurosig.tl import test_claims

P5 = ["P5_inflammatory_tumour", "P5_inflammatory_myeloid", "P5_tnfa_tumour"]


def _scipy_sign_flip(d: np.ndarray) -> float:
    """scipy's exact paired permutation test (one sample: the signs are permuted)."""
    return sps.permutation_test(
        (d,), np.mean, permutation_type="samples", n_resamples=np.inf, alternative="two-sided"
    ).pvalue


@pytest.mark.parametrize("seed", range(6))
def test_sign_flip_p_equals_scipy_permutation_test(seed):
    rng = np.random.default_rng(seed)
    d = rng.normal(0.4 * (seed % 3), 1.0, 6 + seed)
    ours = sign_flip_test(d)
    assert ours.pvalue == pytest.approx(_scipy_sign_flip(d), rel=1e-9)
    assert ours.mean == pytest.approx(d.mean())


def test_sign_flip_interval_agrees_with_p_and_floor():
    rng = np.random.default_rng(1)
    for _ in range(200):
        d = rng.normal(rng.uniform(-1, 1), 1.0, 7)
        t = sign_flip_test(d)
        assert (t.pvalue < 0.05) == (t.ci_low > 0 or t.ci_high < 0)
    assert sign_flip_test(np.ones(3)).pvalue == pytest.approx(0.25)  # 2 / 2^3: never < 0.05
    assert sign_flip_test(np.ones(6)).pvalue == pytest.approx(2 / 64)


def test_sign_flip_monte_carlo_above_16_is_seeded_and_close_to_scipy():
    d = np.random.default_rng(2).normal(0.3, 1, 20)
    a, b = sign_flip_test(d, seed=0), sign_flip_test(d, seed=0)
    assert a.pvalue == b.pvalue and "Monte Carlo" in a.method
    exact = _scipy_sign_flip(d)  # 2^20 sign vectors
    assert abs(a.pvalue - exact) < 0.01


@pytest.fixture(scope="module")
def paired_sims():
    """8 patients x 2 regions; HFC malignant cells get the inflammatory set x exp(-0.4), or nothing."""
    out = {}
    for name, fold in (("null", 0.0), ("planted", -0.4)):
        p = SimParams(
            n_patients=8,
            n_cells=2400,
            n_genes=1500,
            technology="tenx",
            regions=("HFC", "LFC"),
            region_effects=(RegionEffect("HFC", "malignant", "HALLMARK_INFLAMMATORY_RESPONSE", fold),),
            seed=3,
        )
        out[name] = simulate_adata(p)
    return out


def _test(a, only=P5, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return test_claims(a, only=only, inplace=False, **kw).set_index("claim")


def test_simulator_labels_regions_within_patients(paired_sims):
    a = paired_sims["null"]
    counts = a.obs.groupby(["patient", "region"], observed=True).size().unstack()
    assert list(counts.columns) == ["HFC", "LFC"] and (counts == 150).all().all()
    assert set(a.obs["sample"].astype(str)) == {f"P{i:03d}_{r}" for i in range(1, 9) for r in ("HFC", "LFC")}
    truth = a.uns["neurosig"]["simulation"]["truth"]["region_effects"]
    assert truth == {"HFC:malignant:HALLMARK_INFLAMMATORY_RESPONSE": 0.0}


def test_planted_difference_found_and_null_not(paired_sims):
    planted = _test(paired_sims["planted"])
    null = _test(paired_sims["null"])
    row = planted.loc["P5_inflammatory_tumour"]
    assert row["verdict"] == "supported" and row["effect"] < -0.2 and row["ci_high"] < 0
    assert row["n_patients"] == 8 and row["pvalue"] == pytest.approx(2 / 256)
    # the effect was planted in malignant cells only: myeloid cells see nothing
    assert planted.loc["P5_inflammatory_myeloid", "verdict"] in ("negligible", "inconclusive")
    assert null.loc["P5_inflammatory_tumour", "verdict"] in ("negligible", "inconclusive")
    assert abs(null.loc["P5_inflammatory_tumour", "effect"]) < 0.2
    assert "Wilcoxon signed-rank p" in row["reason"]


def test_engine_effect_is_mean_of_per_patient_standardised_differences(paired_sims):
    a = paired_sims["planted"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = test_claims(a, only=["P5_inflammatory_tumour"], inplace=False)
    pp = pd.DataFrame(t.attrs["per_patient"])
    d = pp["difference"].to_numpy()
    assert len(d) == 8
    assert t["effect"].iloc[0] == pytest.approx(d.mean())
    assert t["pvalue"].iloc[0] == pytest.approx(_scipy_sign_flip(d))
    assert f"{sps.wilcoxon(d).pvalue:.3g}" in t["reason"].iloc[0]


def test_fraction_contrast_is_log_odds_ratio(paired_sims):
    doc = copy.deepcopy(load_claims())
    doc["claims"] = {
        "frac": {
            "statement": "more myeloid cells in HFC",
            "level": "paired",
            "regions": ["HFC", "LFC"],
            "y": {"fraction": ["macrophage"]},
            "proxy": "P5",
            "expected": "positive",
        }
    }
    a = paired_sims["null"]
    row = _test(a, only=None, claims=validate_claims(doc)).loc["frac"]
    obs = a.obs
    diffs = []
    for _, g in obs.groupby("patient", observed=True):
        lo = []
        for r in ("HFC", "LFC"):
            n = (g["region"] == r).sum()
            k = ((g["region"] == r) & (g["cell_type"] == "macrophage")).sum()
            lo.append(np.log((k + 0.5) / (n - k + 0.5)))
        diffs.append(lo[0] - lo[1])
    assert row["effect_type"].startswith("paired_log_odds_ratio")
    assert row["effect"] == pytest.approx(np.mean(diffs))


def test_three_patients_not_testable_with_reason(paired_sims):
    a = paired_sims["planted"]
    three = a[a.obs["patient"].isin(["P001", "P002", "P003"])].copy()
    row = _test(three).loc["P5_inflammatory_tumour"]
    assert row["verdict"] == "not testable"
    assert "3 patient(s) with both HFC and LFC (need 6)" in row["reason"]
    assert "0.25" in row["reason"] and "P001 -" in row["reason"]


def test_no_region_column_or_region_not_found(paired_sims):
    a = paired_sims["null"].copy()
    b = a.copy()
    b.obs["region"] = b.obs["region"].astype(str).replace({"HFC": "core"})
    del a.obs["region"]
    assert "no .obs['region']" in _test(a).loc["P5_tnfa_tumour", "reason"]
    assert "HFC not in .obs['region']" in _test(b).loc["P5_tnfa_tumour", "reason"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"regions": ["HFC"]}, "must list two region labels"),
        ({"regions": ["HFC", "HFC"]}, "twice"),
        ({"x": {"gene": "CD274"}}, "remove `x`"),
        ({"y": {"signature": "HALLMARK_IFNG_RESPONSE"}}, "needs `population`"),
        ({"y": {"interaction": "C6"}}, "not an interaction"),
    ],
)
def test_validation_errors(change, message):
    doc = copy.deepcopy(load_claims())
    claim = copy.deepcopy(doc["claims"]["P5_ifng_tumour"])
    claim.update(change)
    doc["claims"] = {"bad": claim}
    with pytest.raises(InputDataError, match=message):
        validate_claims(doc)


def test_level_registered_without_variables():
    assert LEVEL.name == "paired" and not LEVEL.variables
    assert LEVEL.population({"y": {"fraction": ["T_CD8"]}}) == ["T_CD8"]
