"""Region level (multi-region): within each tumour across its samples, pooled across patients.

Each patient's samples (image-guided positions of one tumour) give one partial Spearman
rho of x and y adjusted for the claim's covariates (default ``settings.region_covariates``:
the sample's purity); the per-patient Fisher z values (variance 1.06/(n-3-k)) are pooled
by random-effects meta-analysis (DerSimonian-Laird tau^2, Hartung-Knapp interval), the
patient as the unit. A linear mixed model ``y ~ x + covariates + (1 | patient)`` is the
cross-check (``lmm_slope``). x may be an ``obs`` column such as the distance to the
tumour's periphery.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import stats
from ..context import Context, NotTestable
from ..samples import covariates, fisher_test, sample_values
from ._level import Level


def run(ctx: Context, cid: str, c: dict, xg, yg) -> dict:
    """Per patient across its samples, then pooled across patients."""
    s = ctx.settings
    a = ctx.adata
    x = sample_values(ctx, f"{cid}:x", xg, c["x"])
    y = sample_values(ctx, f"{cid}:y", yg, c["y"])
    names = c.get("covariates", s.get("region_covariates", ["purity"]))
    cov, used, skipped = covariates(ctx, names, a.obs_names, exclude=set(xg or {}) | set(yg or {}))
    frame = pd.concat([x.rename("_x"), y.rename("_y"), cov], axis=1).dropna()
    frame["_p"] = a.obs.loc[frame.index, "patient"].astype(str)
    need = int(s.get("min_samples_per_patient", 6))
    k = cov.shape[1]
    records, zs, vs, kept, short = [], [], [], [], []
    for patient, grp in frame.groupby("_p", sort=True):
        n = len(grp)
        xs, ys = grp["_x"].to_numpy(float), grp["_y"].to_numpy(float)
        if n < max(need, k + 5) or np.ptp(xs) == 0 or np.ptp(ys) == 0:
            short.append(f"{patient} ({n})")
            continue
        cv = grp[cov.columns].to_numpy(float) if k else None
        rho = stats.partial_spearman(xs, ys, cv)
        rho_raw = stats.partial_spearman(xs, ys, None)
        z, se, _, _, p = fisher_test(rho, n, k)
        if not np.isfinite(z):
            short.append(f"{patient} ({n})")
            continue
        records.append(
            {
                "claim": cid,
                "patient": patient,
                "n_cells": n,
                "rho": rho,
                "rho_unadjusted": rho_raw,
                "pvalue": p,
            }
        )
        zs.append(z)
        vs.append(se**2)
        kept.append(patient)
    n_pat = len(records)
    min_pat = int(s.get("min_patients_region", 3))
    if n_pat < min_pat:
        raise NotTestable(f"{n_pat} patient(s) with >= {need} samples with both values (need {min_pat})")
    res = stats.random_effects(np.array(zs), np.array(vs))
    raw = stats.random_effects(
        np.arctanh(np.clip([r["rho_unadjusted"] for r in records], -0.999999, 0.999999)),
        np.array([1.06 / (r["n_cells"] - 3) for r in records]),
    )
    used_frame = frame[frame["_p"].isin(kept)]
    lmm = stats.mixed_model(
        used_frame["_y"].to_numpy(float),
        used_frame["_x"].to_numpy(float),
        used_frame["_p"].to_numpy(),
        used_frame[cov.columns].to_numpy(float) if k else None,
    )
    reason = f"{n_pat} patients, {len(used_frame)} samples; random effects over patients (Hartung-Knapp)"
    if short:
        reason += f"; left out (samples): {', '.join(short)}"
    if skipped:
        reason += "; not adjusted for: " + ", ".join(skipped)
    return {
        "effect_type": "spearman_rho (partial, within tumours, pooled)"
        if k
        else "spearman_rho (within tumours, pooled)",
        **res.fields(),
        **raw.fields(suffix="_unadjusted"),
        "adjusted_for": ", ".join(used) if k else "nothing (raw)",
        "n_patients": n_pat,
        "n_patients_dropped": len(short),
        "n_cells": int(len(used_frame)),
        "tau2": res.tau2,
        "i2": res.i2,
        "lmm_slope": lmm[0],
        "lmm_pvalue": lmm[3],
        "reason": reason,
        "z": res.estimate,
        "z_se": (res.ci_high - res.ci_low) / (2 * _t_crit(n_pat)),
        "_per_patient": records,
    }


def _t_crit(k: int) -> float:
    from scipy import stats as sps

    return float(sps.t.ppf(0.975, max(k - 1, 1)))


LEVEL = Level(
    name="region",
    func=run,
    desc="multi-region: within each tumour across its samples (partial Spearman, adjusted for "
    "purity), pooled across patients by random effects; a mixed model as cross-check",
    data_types=("multi_region",),
)
