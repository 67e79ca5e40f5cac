"""Cell level: within-patient Spearman (adjusted for covariates), pooled across patients."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
from scipy import stats as sps

from ...errors import InputDataError
from .. import stats
from ..context import Context, NotTestable
from ..variables import cell_values, in_types, other_side
from ._level import Level


def _covariates(a: ad.AnnData, cid: str, c: dict, settings: dict) -> tuple[np.ndarray | None, list[str]]:
    """The covariate matrix of a cell-level claim: numeric columns, and the state as dummies.

    ``covariates`` of the claim (default ``settings.cell_covariates``, genes detected per
    cell) enter the verdict's estimate; ``settings.state_covariate`` (e.g.
    ``neftel_state``) adds the malignant state as a categorical covariate.
    """
    covs = list(c.get("covariates", settings.get("cell_covariates", ["n_genes"])))
    state = settings.get("state_covariate")
    missing = [k for k in covs + ([state] if state else []) if k not in a.obs]
    if missing:
        raise InputDataError(
            f"Claim {cid} adjusts for .obs columns {missing}, which are missing. neurosig.datasets.load adds "
            "n_genes (genes detected per cell); for other data set adata.obs['n_genes'] = "
            "(adata.X > 0).sum(1); the state covariate comes from tl.neftel_states "
            "(obs['neftel_state']); or name other covariates in the claims file."
        )
    cols = [a.obs[covs].to_numpy(dtype=float)] if covs else []
    names = list(covs)
    types = a.obs["cell_type"].astype(str)
    pop = types.isin(c.get("population", [])).to_numpy()
    in_pop = types[pop]
    if in_pop.nunique() > 1:
        # a population of several types (macrophage, microglia...): their mix is not the claim
        dummies = pd.get_dummies(
            types.where(types.isin(in_pop.unique()), "other"), drop_first=True, dtype=float
        )
        cols.append(dummies.to_numpy())
        names.append("cell_type")
    if state:
        levels = a.obs[state].astype(str)
        if levels[pop].nunique() > 1:  # a state constant in the population adjusts nothing
            dummies = pd.get_dummies(levels, drop_first=True, dtype=float)
            cols.append(dummies.to_numpy())
            names.append(state)
    if not cols:
        return None, []
    return np.column_stack(cols), names


def run(ctx: Context, cid: str, c: dict, xg, yg) -> dict:
    """Within-patient rho of x and y in the population (adjusted), pooled across patients (Fisher z)."""
    a, s = ctx.adata, ctx.settings
    x = cell_values(ctx, f"{cid}:x", xg, c["x"], other_side(yg))
    y = cell_values(ctx, f"{cid}:y", yg, c["y"], other_side(xg) | set(ctx.drawn.get(f"{cid}:x", [])))
    pop = in_types(a, c["population"])
    if not pop.any():
        raise NotTestable(f"no {'/'.join(c['population'])} cells")
    cov, cov_names = _covariates(a, cid, c, s)
    patients = a.obs["patient"].astype(str).to_numpy()
    raw, adj, per_patient, constant = [], [], [], []
    slopes, svars = [], []
    for p in sorted(set(patients[pop])):
        m = pop & (patients == p)
        if m.sum() < s["min_cells_per_patient"]:
            continue
        xi, yi = x[m], y[m]
        rho, p_rho = stats.spearman(xi, yi)
        if not np.isfinite(rho):
            constant.append(p)
            continue
        ci = cov[m] if cov is not None else None
        k_cov = 0 if ci is None else int(sum(np.ptp(col) > 0 for col in ci.T))
        rho_adj = stats.partial_spearman(xi, yi, ci) if ci is not None else rho
        slope, svar = stats.ols_slope(yi, xi, ci)
        n = int(m.sum())
        raw.append((rho, n))
        adj.append((rho_adj, n - k_cov))
        slopes.append(slope)
        svars.append(svar)
        per_patient.append(
            {"claim": cid, "patient": p, "n_cells": n, "rho": rho_adj, "rho_unadjusted": rho, "pvalue": p_rho}
        )
    k = len(raw)
    if k < s["min_patients_cell"]:
        why = (
            f"{k} patient(s) with >= {s['min_cells_per_patient']} {'/'.join(c['population'])} cells and "
            f"non-constant values (need {s['min_patients_cell']})"
        )
        if constant:
            why += f"; constant in {', '.join(constant)}"
        raise NotTestable(why)
    ok_adj = [(r, n) for r, n in adj if np.isfinite(r) and n > 3]
    if len(ok_adj) < s["min_patients_cell"]:
        raise NotTestable("the covariates leave too few degrees of freedom within patients")
    every = sorted(set(patients[pop]))
    dropped = len(every) - len(ok_adj)
    z, v = stats.fisher_z(np.array([r for r, _ in ok_adj]), np.array([n for _, n in ok_adj]))
    pooled = stats.random_effects(z, v)
    zr, vr = stats.fisher_z(np.array([r for r, _ in raw]), np.array([n for _, n in raw]))
    pooled_raw = stats.random_effects(zr, vr)
    ols = stats.random_effects(np.array(slopes), np.array(svars))
    m_all = pop & np.isin(patients, [r["patient"] for r in per_patient])
    lmm = stats.mixed_model(y[m_all], x[m_all], patients[m_all], cov[m_all] if cov is not None else None)
    return {
        "effect_type": "spearman_rho (pooled within-patient"
        + (f", adjusted for {', '.join(cov_names)})" if cov_names else ")"),
        **pooled.fields(),
        **pooled_raw.fields(suffix="_unadjusted"),
        "adjusted_for": ", ".join(cov_names),
        "n_patients": len(ok_adj),
        "n_patients_dropped": dropped,
        "reason": (
            f"{dropped} patient(s) with fewer than {s['min_cells_per_patient']} cells or constant "
            "values left out"
            if dropped
            else ""
        ),
        "n_cells": int(sum(n for _, n in raw)),
        "tau2": pooled.tau2,
        "i2": pooled.i2,
        "ols_slope": ols.estimate,
        "ols_ci_low": ols.ci_low,
        "ols_ci_high": ols.ci_high,
        "lmm_slope": lmm[0],
        "lmm_pvalue": lmm[3],
        "z": pooled.estimate,
        "z_se": (pooled.ci_high - pooled.ci_low) / (2 * sps.t.ppf(0.975, max(len(ok_adj) - 1, 1))),
        "_per_patient": per_patient,
    }


LEVEL = Level(
    name="cell",
    func=run,
    desc="within each patient, Spearman's rho of x and y in the population's cells (adjusted for "
    "covariates), pooled across patients by random-effects meta-analysis of Fisher z",
)
