"""Tumour level (bulk): one value per tumour, Spearman across the cohort's tumours, raw and adjusted.

In bulk RNA the neural score mixes tumour-intrinsic neural programmes with normal neurons
in the sample, and immune scores follow purity, histology and subtype (mesenchymal GBMs
are immune-rich, proneural ones neural-like). The estimate is therefore the partial
Spearman correlation adjusted for the claim's covariates (default
``settings.bulk_covariates``: purity, normal-neuron content, histology, grade, IDH and the
subtype within GBMs, each where the cohort has it), reported beside the raw rho; the
verdict uses the adjusted one and ``adjusted_for`` says which covariates it holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import stats
from ..context import Context, NotTestable
from ..samples import covariates, fisher_test, sample_values
from ..variables import describe
from ._level import Level

#: Default covariates of a tumour-level estimate (each used where the cohort has it).
DEFAULT_COVARIATES = ["purity", "neuron_content", "histology", "grade", "idh", "subtype_gbm"]


def by_patient(frame: pd.DataFrame, patients: pd.Series) -> pd.DataFrame:
    """One row per patient: the mean of its samples (a tumour sampled twice counts once)."""
    return frame.groupby(patients.loc[frame.index].to_numpy(), sort=True).mean()


def run(ctx: Context, cid: str, c: dict, xg, yg) -> dict:
    """Partial Spearman of x and y across the cohort's tumours, with its raw value beside it."""
    s = ctx.settings
    a = ctx.adata
    x = sample_values(ctx, f"{cid}:x", xg, c["x"])
    y = sample_values(ctx, f"{cid}:y", yg, c["y"])
    names = c.get("covariates", s.get("bulk_covariates", DEFAULT_COVARIATES))
    cov, used, skipped = covariates(ctx, names, a.obs_names, exclude=set(xg or {}) | set(yg or {}))
    frame = pd.concat([x.rename("_x"), y.rename("_y"), cov], axis=1).dropna()
    per = by_patient(frame, a.obs["patient"].astype(str))
    n = len(per)
    need = int(s.get("min_tumours", 10))
    if n < need:
        raise NotTestable(f"{n} tumour(s) with both values (need {need})")
    xs, ys = per["_x"].to_numpy(float), per["_y"].to_numpy(float)
    for side, v in (("x", xs), ("y", ys)):
        if np.ptp(v) == 0:
            raise NotTestable(f"constant: {describe(c[side])} is the same in every tumour")
    z_cov = per.drop(columns=["_x", "_y"])
    z_cov = z_cov.loc[:, [col for col in z_cov if np.ptp(z_cov[col].to_numpy(float)) > 0]]
    # keep at least 5 residual degrees of freedom: drop the last-named covariates first
    while z_cov.shape[1] and n - 3 - z_cov.shape[1] < 5:
        skipped.append(f"{z_cov.columns[-1]} (too few tumours for every covariate)")
        z_cov = z_cov.iloc[:, :-1]
    k = z_cov.shape[1]
    cov_arr = z_cov.to_numpy(float) if k else None
    rho_raw = stats.partial_spearman(xs, ys, None)
    rho = stats.partial_spearman(xs, ys, cov_arr)
    z, se, lo, hi, p = fisher_test(rho, n, k)
    z_r, se_r, lo_r, hi_r, p_r = fisher_test(rho_raw, n, 0)
    slope, var = stats.ols_slope(ys, xs, cov_arr)
    half = 1.96 * np.sqrt(var) if np.isfinite(var) else np.nan
    kept = sorted({col.split("=")[0] for col in z_cov})
    adjusted = ", ".join(u for u in used if u.split(" ")[0] in kept) or "nothing (raw)"
    reason = f"{n} tumours; partial Spearman (Fisher z, variance 1.06/(n-3-k), k={k})"
    if skipped:
        reason += "; not adjusted for: " + ", ".join(skipped)
    return {
        "effect_type": "spearman_rho (partial, across tumours)" if k else "spearman_rho (across tumours)",
        "effect": rho,
        "ci_low": lo,
        "ci_high": hi,
        "pvalue": p,
        "effect_unadjusted": rho_raw,
        "ci_low_unadjusted": lo_r,
        "ci_high_unadjusted": hi_r,
        "pvalue_unadjusted": p_r,
        "z_unadjusted": z_r,
        "z_se_unadjusted": se_r,
        "adjusted_for": adjusted,
        "n_patients": n,
        "n_patients_dropped": int(a.obs["patient"].nunique() - n),
        "n_cells": int(len(frame)),
        "ols_slope": slope,
        "ols_ci_low": slope - half,
        "ols_ci_high": slope + half,
        "reason": reason,
        "z": z,
        "z_se": se,
    }


LEVEL = Level(
    name="tumour",
    func=run,
    desc="bulk: one value per tumour; Spearman across tumours adjusted for purity, neuron "
    "content, histology/grade/IDH and GBM subtype (partial rank correlation), raw beside it",
    data_types=("bulk",),
)
