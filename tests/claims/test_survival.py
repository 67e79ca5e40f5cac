"""Survival level: Cox PH per cohort equals lifelines' fit; no survival is said so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurosig.claims import load_claims
from neurosig.claims.levels.survival import cox
from neurosig.tl import test_claims
from tests.claims.bulk_inputs import simulated_cohort
from tests.claims.test_tumour import HAS_BULK, KEY, ducray  # noqa: F401 - the module fixture

lifelines = pytest.importorskip("lifelines")


def test_cox_equals_lifelines_on_a_cohort_with_ties():
    a = simulated_cohort(120, 5, hazard=0.5, key="s")
    t = np.round(a.obs["os_months"].to_numpy(), 0) + 1  # months: many ties
    e = a.obs["os_event"].to_numpy()
    x = a.obsm["s"]["neural_interaction_composite"].to_numpy()
    age = a.obs["age"].to_numpy()
    beta, se = cox(t, e, np.column_stack([x, age]))
    frame = pd.DataFrame({"t": t, "e": e, "x": x, "age": age})
    ref = lifelines.CoxPHFitter().fit(frame, "t", "e")  # Efron ties, as PHReg(ties="efron")
    assert beta == pytest.approx(ref.params_[["x", "age"]].to_numpy(), rel=1e-4)
    assert se == pytest.approx(ref.standard_errors_[["x", "age"]].to_numpy(), rel=1e-3)


@pytest.mark.skipif(not HAS_BULK, reason="gliovis_bulk mirror not found")
def test_real_cohort_hazard_ratio_per_sd_equals_lifelines(ducray):  # noqa: F811
    ev = test_claims(ducray, only=["S1"], score_key=KEY, inplace=False).iloc[0]
    obs = ducray.obs
    x = ducray.obsm[KEY]["neural_interaction_composite"]
    frame = pd.DataFrame(
        {"t": obs["os_months"], "e": obs["os_event"], "x": (x - x.mean()) / x.std(ddof=0), "age": obs["age"]}
    ).dropna()
    ref = lifelines.CoxPHFitter().fit(frame, "t", "e")
    assert ev["adjusted_for"] == "age" and ev["n_patients"] == len(frame)
    assert ev["effect"] == pytest.approx(ref.params_["x"], rel=1e-4)
    lo = ref.confidence_intervals_.loc["x"].iloc[0]
    assert ev["ci_low"] == pytest.approx(lo, rel=1e-3)
    assert "deaths" in ev["reason"]


def test_planted_hazard_is_found_and_high_vs_low_too():
    a = simulated_cohort(400, 2, hazard=0.5, key="s")
    ev = test_claims(a, load_claims(), only=["S1", "S1_high"], score_key="s", inplace=False).set_index(
        "claim"
    )
    assert ev.loc["S1", "verdict"] == "supported"
    assert ev.loc["S1", "effect"] == pytest.approx(0.5, abs=0.15)
    assert ev.loc["S1_high", "verdict"] == "supported"
    assert ev.loc["S1", "effect_type"].startswith("log_hazard_ratio")


def test_cohort_without_survival_is_not_testable_and_says_why():
    a = simulated_cohort(60, 2, key="s")
    del a.obs["os_months"]
    ev = test_claims(a, load_claims(), only=["S1"], score_key="s", inplace=False).iloc[0]
    assert ev["verdict"] == "not testable" and "no survival" in ev["reason"]
    b = simulated_cohort(60, 2, key="s")
    b.obs["os_event"] = 0.0
    ev = test_claims(b, load_claims(), only=["S1"], score_key="s", inplace=False).iloc[0]
    assert ev["verdict"] == "not testable" and "0 death(s)" in ev["reason"]
