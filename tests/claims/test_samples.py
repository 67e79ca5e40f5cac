"""Per-sample covariates of the bulk levels: indicators, GBM subtype, missing values, collinearity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neurosig.claims.context import Context
from neurosig.claims.samples import covariates, fisher_test
from tests.claims.bulk_inputs import simulated_cohort


def _ctx(a):
    return Context(a, {"min_level_samples": 3, "max_missing_covariate": 0.2}, 0)


def test_categorical_covariates_are_indicators_with_the_commonest_level_as_reference():
    a = simulated_cohort(60, 0, key="s")
    a.obs["histology"] = ["GBM"] * 40 + ["Astrocytoma"] * 18 + ["PXA"] * 2  # PXA: < 3, joins the reference
    frame, used, skipped = covariates(_ctx(a), ["histology"], a.obs_names)
    assert list(frame.columns) == ["histology=Astrocytoma"] and used == ["histology"]
    assert frame["histology=Astrocytoma"].sum() == 18


def test_subtype_counts_only_within_glioblastomas():
    a = simulated_cohort(80, 1, key="s")
    frame, used, _ = covariates(_ctx(a), ["subtype_gbm"], a.obs_names)
    non_gbm = (a.obs["histology"] != "GBM").to_numpy()
    assert used == ["subtype_gbm"]
    subtype_cols = [c for c in frame if c != "subtype_gbm=not GBM"]
    assert (frame.loc[non_gbm, subtype_cols] == 0).all().all()  # a subtype indicator is 0 outside GBMs
    levels = {c.split("=")[1] for c in frame.columns}
    assert levels <= {"Mesenchymal", "Proneural", "Classical", "not GBM"} and len(levels) == 3


def test_numeric_covariates_with_few_missing_are_used_and_many_missing_not():
    a = simulated_cohort(50, 2, key="s")
    a.obs.loc[a.obs_names[:5], "purity"] = np.nan  # 10%: used, those samples left out later
    frame, used, _ = covariates(_ctx(a), ["purity"], a.obs_names)
    assert used == ["purity (unknown in 5/50 samples: those left out)"] and frame["purity"].isna().sum() == 5
    a.obs.loc[a.obs_names[:20], "purity"] = np.nan  # 40%: not used
    frame, used, skipped = covariates(_ctx(a), ["purity"], a.obs_names)
    assert frame.shape[1] == 0 and skipped == ["purity (unknown in 20/50 samples)"]


def test_a_covariate_the_others_determine_is_dropped():
    a = simulated_cohort(60, 3, key="s")  # grade IV exactly when GBM
    frame, used, skipped = covariates(_ctx(a), ["histology", "grade"], a.obs_names)
    assert "grade=IV" not in frame and any("determined by the other covariates" in s for s in skipped)
    assert np.linalg.matrix_rank(np.column_stack([np.ones(60), frame.to_numpy()])) == frame.shape[1] + 1


def test_fisher_test_loses_a_degree_of_freedom_per_covariate():
    z, se, lo, hi, p = fisher_test(0.3, 50, 4)
    assert se == np.sqrt(1.06 / 43) and lo < 0.3 < hi
    assert np.isnan(fisher_test(0.3, 6, 3)[0])
    assert isinstance(pd.Series([p]).iloc[0], float)
