"""Pooling bulk evidence: within a data type only; adult and paediatric alone and together."""

from __future__ import annotations

import numpy as np
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
