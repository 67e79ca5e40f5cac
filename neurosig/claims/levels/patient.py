"""Patient level: one value per patient; Spearman across patients, or quasi-binomial for a fraction."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
from scipy import stats as sps

from .. import stats
from ..context import Context, NotTestable
from ..variables import describe, other_side, patient_values
from ._level import Level


def _cells_of(a: ad.AnnData, patients: pd.Index) -> int:
    """Cells of the given patients (those a patient-level test used)."""
    return int(a.obs["patient"].astype(str).isin(patients).sum())


def run(ctx: Context, cid: str, c: dict, xg, yg) -> dict:
    """One value per patient: Spearman across patients, or a quasi-binomial GLM when y is a fraction."""
    s = ctx.settings
    xv, _ = patient_values(ctx, f"{cid}:x", xg, c["x"], exclude=other_side(yg))
    yv, totals = patient_values(
        ctx,
        f"{cid}:y",
        yg,
        c["y"],
        counts="fraction" in c["y"],
        exclude=other_side(xg) | set(ctx.drawn.get(f"{cid}:x", [])),
    )
    every = xv.index.union(yv.index)
    common = xv.dropna().index.intersection(yv.dropna().index)
    dropped = sorted(set(every) - set(common))
    n = len(common)
    note = ""
    if dropped:
        shown = ", ".join(dropped[:6]) + (" ..." if len(dropped) > 6 else "")
        note = f"{len(dropped)} patient(s) without a value dropped (absent, not zero): {shown}"
    if n < s["min_patients_patient"]:
        raise NotTestable(
            f"{n} patient(s) with both values (need {s['min_patients_patient']})"
            + (f"; {note}" if note else "")
        )
    xs, ys = xv[common].to_numpy(float), yv[common].to_numpy(float)
    if np.ptp(xs) == 0:
        raise NotTestable(f"constant: {describe(c['x'])} is the same in every patient ({xs[0]:.4g})")
    base = {"n_patients": n, "n_patients_dropped": len(dropped), "n_cells": _cells_of(ctx.adata, common)}
    if totals is not None:
        if ys.sum() == 0:
            raise NotTestable(f"no {'/'.join(c['y']['fraction'])} cells in any patient")
        tot = totals[common].to_numpy(float)
        beta, lo, hi, p = stats.quasibinomial(ys, tot, xs)
        se = (hi - lo) / (2 * sps.t.ppf(0.975, max(n - 2, 1)))
        return {
            **base,
            "effect_type": "log_odds_per_sd (quasi-binomial)",
            "effect": beta,
            "ci_low": lo,
            "ci_high": hi,
            "pvalue": p,
            "reason": note,
            "z": beta,
            "z_se": se,
        }
    if np.ptp(ys) == 0:
        raise NotTestable(f"constant: {describe(c['y'])} is the same in every patient")
    res = stats.spearman_test(xs, ys, seed=ctx.seed)
    z, v = stats.fisher_z(np.array([res.rho]), np.array([n]))
    return {
        **base,
        "effect_type": "spearman_rho (across patients)",
        "effect": res.rho,
        "ci_low": res.ci_low,
        "ci_high": res.ci_high,
        "pvalue": res.pvalue,
        "reason": "; ".join(filter(None, [f"p and interval: {res.method}", note])),
        "z": float(z[0]),
        "z_se": float(np.sqrt(v[0])) if n > 3 else np.nan,
    }


LEVEL = Level(
    name="patient",
    func=run,
    desc="one value per patient; Spearman with a permutation p across patients, or a "
    "quasi-binomial GLM when y is a fraction",
)
