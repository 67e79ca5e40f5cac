"""Survival level (bulk): Cox proportional hazards of overall survival on a tumour score, per cohort.

``x`` is the score (per SD within the cohort, or ``contrast: high_vs_low``: above vs
at-or-below the cohort's median); the hazard model is adjusted for the claim's covariates
(default ``settings.survival_covariates``: age, grade, histology, IDH, each where the
cohort records it for every tumour with survival). statsmodels' ``PHReg`` with Efron ties
(the same fit as lifelines' ``CoxPHFitter``; tested). The effect is the log hazard ratio
(positive: worse survival), raw beside adjusted. ``expected: positive`` reads "high x,
worse survival" (Krishna 2023; Drexler 2024).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..context import Context, NotTestable
from ..samples import covariates, sample_values
from ._level import Level

#: Default covariates of a survival estimate (each used where the cohort has it).
DEFAULT_COVARIATES = ["age", "grade", "histology", "idh"]


def cox(time: np.ndarray, event: np.ndarray, design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cox PH coefficients and standard errors (statsmodels PHReg, Efron ties)."""
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.PHReg(time, design, status=event, ties="efron").fit()
        return np.asarray(fit.params, float), np.asarray(fit.bse, float)


def _fit(t, e, x, cov: np.ndarray | None) -> tuple[float, float]:
    design = x[:, None] if cov is None else np.column_stack([x, cov])
    try:
        beta, se = cox(t, e, design)
    except (np.linalg.LinAlgError, ValueError) as err:
        raise NotTestable(f"the Cox model did not fit ({err})") from err
    if not (np.isfinite(beta[0]) and np.isfinite(se[0])) or se[0] > 10:
        raise NotTestable("the Cox model did not converge (separation or too few events)")
    return float(beta[0]), float(se[0])


def survival_frame(a, x: pd.Series) -> pd.DataFrame:
    """Tumours with survival: time (months), event (1 = death) and x; one row per patient."""
    for col in ("os_months", "os_event"):
        if col not in a.obs:
            raise NotTestable(f"no survival: .obs[{col!r}] is missing")
    frame = pd.DataFrame(
        {
            "time": pd.to_numeric(a.obs["os_months"], errors="coerce"),
            "event": pd.to_numeric(a.obs["os_event"], errors="coerce"),
            "x": x,
            "patient": a.obs["patient"].astype(str),
        },
        index=a.obs_names,
    ).dropna()
    frame = frame[frame["time"] > 0]
    if frame.empty:
        raise NotTestable("no survival: no tumour has survival time and status")
    return frame


def run(ctx: Context, cid: str, c: dict, xg, yg) -> dict:
    """Cox PH of overall survival on x, per SD or high vs low, raw and adjusted."""
    s = ctx.settings
    a = ctx.adata
    x = sample_values(ctx, f"{cid}:x", xg, c["x"])
    frame = survival_frame(a, x)
    # one row per patient (a tumour sampled twice counts once: its first sample)
    frame = frame[~frame["patient"].duplicated()]
    names = c.get("covariates", s.get("survival_covariates", DEFAULT_COVARIATES))
    cov, used, skipped = covariates(ctx, names, frame.index)
    complete = cov.notna().all(axis=1).to_numpy()
    frame, cov = frame[complete], cov[complete]
    n, events = len(frame), int(frame["event"].sum())
    need = int(s.get("min_events", 10))
    if events < need:
        raise NotTestable(f"{events} death(s) among {n} tumours with survival (need {need})")
    contrast = c.get("contrast", "per_sd")
    xs = frame["x"].to_numpy(float)
    if np.ptp(xs) == 0:
        raise NotTestable("constant score")
    if contrast == "high_vs_low":
        xs = (xs > np.median(xs)).astype(float)
        label = "log_hazard_ratio (Cox, above vs below the cohort median)"
    else:
        xs = (xs - xs.mean()) / xs.std()
        label = "log_hazard_ratio (Cox, per SD)"
    t, e = frame["time"].to_numpy(float), frame["event"].to_numpy(float)
    cv = cov.to_numpy(float) if cov.shape[1] else None
    while cv is not None and events < 5 * (cv.shape[1] + 1):  # ~5 events per parameter
        skipped.append(f"{cov.columns[cv.shape[1] - 1]} (too few deaths for every covariate)")
        cv = cv[:, :-1] if cv.shape[1] > 1 else None
    b_raw, se_raw = _fit(t, e, xs, None)
    b, se = _fit(t, e, xs, cv) if cv is not None else (b_raw, se_raw)
    k = 0 if cv is None else cv.shape[1]
    kept = sorted({col.split("=")[0] for col in cov.columns[:k]})
    adjusted = ", ".join(u for u in used if u.split(" ")[0] in kept) or "nothing (raw)"
    crit = sps.norm.ppf(0.975)
    reason = f"{n} tumours, {events} deaths; Cox PH (statsmodels PHReg, Efron ties), HR = exp(effect)"
    if skipped:
        reason += "; not adjusted for: " + ", ".join(skipped)
    return {
        "effect_type": label,
        "effect": b,
        "ci_low": b - crit * se,
        "ci_high": b + crit * se,
        "pvalue": float(2 * sps.norm.sf(abs(b) / se)),
        "effect_unadjusted": b_raw,
        "ci_low_unadjusted": b_raw - crit * se_raw,
        "ci_high_unadjusted": b_raw + crit * se_raw,
        "pvalue_unadjusted": float(2 * sps.norm.sf(abs(b_raw) / se_raw)),
        "adjusted_for": adjusted,
        "n_patients": n,
        "n_patients_dropped": int(a.obs["patient"].nunique() - n),
        "n_cells": n,
        "reason": reason,
        "z": b,
        "z_se": se,
        "z_unadjusted": b_raw,
        "z_se_unadjusted": se_raw,
    }


LEVEL = Level(
    name="survival",
    func=run,
    desc="bulk: Cox proportional hazards of overall survival on a tumour score (per SD or "
    "high vs low), adjusted for age, grade, histology and IDH where known",
    data_types=("bulk",),
)
