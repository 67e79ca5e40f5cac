"""Pooling bulk evidence: within a data type only; adult and paediatric alone and together."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurosig.claims import load_claims, pool_evidence
from neurosig.claims.stats import random_effects
from neurosig.tl import test_claims
from tests.claims.bulk_inputs import simulated_atlas, simulated_cohort


def test_cohorts_pool_per_data_type_and_per_age_group():
    doc = load_claims()
    tables = []
    for i, group in enumerate(["adult", "adult", "adult", "paediatric", "paediatric"]):
        a = simulated_cohort(60, 100 + i, effect=-1.0, key="s")
        a.uns["neurosig"].update({"dataset_id": f"c{i}", "cohort_group": group})
        tables.append(test_claims(a, doc, only=["B1_bulk"], score_key="s", inplace=False))
    at = simulated_atlas(6, 10, 1, key="s")
    tables.append(test_claims(at, doc, only=["B1_region"], score_key="s", inplace=False))
    ev = pool_evidence(tables)
    pooled = ev[ev["dataset"].str.startswith("pooled")].set_index(["claim", "dataset"])
    assert set(pooled.index) == {
        ("B1_bulk", "pooled"),
        ("B1_bulk", "pooled:adult"),
        ("B1_bulk", "pooled:paediatric"),
        ("B1_region", "pooled"),
    }
    assert pooled.loc[("B1_region", "pooled"), "data_type"] == "multi_region"
    assert pooled.loc[("B1_bulk", "pooled"), "n_patients"] == 300
    # the adult row is the random-effects pool of the three adult cohorts' Fisher z
    rows = ev[(ev["claim"] == "B1_bulk") & ev["dataset"].isin(["c0", "c1", "c2"])]
    ref = random_effects(rows["z"].to_numpy(float), rows["z_se"].to_numpy(float) ** 2)
    adult = pooled.loc[("B1_bulk", "pooled:adult")]
    assert adult["effect"] == pytest.approx(np.tanh(ref.estimate))
    assert adult["pvalue"] == pytest.approx(ref.pvalue)
    assert pooled.loc[("B1_bulk", "pooled"), "verdict"] == "supported"


def test_pooled_row_carries_the_unadjusted_pool_beside_the_adjusted():
    """Raw and adjusted side by side at the pooled level: the raw pool is the same random-effects
    pool of the cohorts' unadjusted Fisher z and its SE, as the tumour level writes them."""
    from neurosig.claims import stats
    from neurosig.claims.samples import fisher_test

    rows = []
    for i, (raw, adj, n) in enumerate(((-0.40, -0.10, 80), (-0.30, -0.20, 60), (-0.35, 0.05, 120))):
        z, se, lo, hi, p = fisher_test(adj, n, 3)
        z_r, se_r, lo_r, hi_r, p_r = fisher_test(raw, n, 0)
        rows.append(
            {
                "dataset": f"c{i}",
                "claim": "B1_bulk",
                "statement": "s",
                "section": "1",
                "level": "tumour",
                "proxy": "P1",
                "x": "x",
                "y": "y",
                "population": "",
                "expected": "negative",
                "effect_type": "spearman_rho (partial, across tumours)",
                "effect": adj,
                "ci_low": lo,
                "ci_high": hi,
                "pvalue": p,
                "z": z,
                "z_se": se,
                "effect_unadjusted": raw,
                "ci_low_unadjusted": lo_r,
                "ci_high_unadjusted": hi_r,
                "pvalue_unadjusted": p_r,
                "z_unadjusted": z_r,
                "z_se_unadjusted": se_r,
                "verdict": "inconclusive",
                "n_patients": n,
                "data_type": "bulk",
                "reason": "",
            }
        )
    pooled = pool_evidence([pd.DataFrame([r]) for r in rows]).set_index("dataset").loc["pooled"]
    n = np.array([80, 60, 120])
    ref = stats.random_effects(np.arctanh([-0.40, -0.30, -0.35]), 1.06 / (n - 3))
    assert pooled["effect_unadjusted"] == pytest.approx(np.tanh(ref.estimate), rel=1e-6)
    assert pooled["ci_low_unadjusted"] == pytest.approx(np.tanh(ref.ci_low), rel=1e-6)
    assert pooled["pvalue_unadjusted"] == pytest.approx(ref.pvalue, rel=1e-6)
    assert pooled["effect"] != pytest.approx(pooled["effect_unadjusted"])


def test_no_raw_pool_from_rows_without_a_raw_standard_error():
    """A cell-level row's raw rho is itself a Hartung-Knapp pool over patients (a t interval):
    its interval gives no normal SE, so the pooled row leaves the raw estimate empty."""
    rows = [
        {
            "dataset": f"c{i}",
            "claim": "A1",
            "statement": "s",
            "section": "1",
            "level": "cell",
            "proxy": "P1",
            "x": "x",
            "y": "y",
            "population": "",
            "expected": "negative",
            "effect_type": "spearman_rho (partial, within patients)",
            "effect": -0.2,
            "ci_low": -0.4,
            "ci_high": 0.0,
            "pvalue": 0.05,
            "z": np.arctanh(-0.2),
            "z_se": 0.1,
            "effect_unadjusted": -0.3,
            "ci_low_unadjusted": -0.9,
            "ci_high_unadjusted": 0.6,
            "verdict": "inconclusive",
            "n_patients": 3,
            "data_type": "single_cell",
            "reason": "",
        }
        for i in range(2)
    ]
    pooled = pool_evidence([pd.DataFrame([r]) for r in rows]).set_index("dataset").loc["pooled"]
    assert np.isfinite(pooled["effect"]) and not np.isfinite(pooled["effect_unadjusted"])
