"""Test the review's claims on one dataset, with the patient as the unit of replication.

:func:`test_claims` returns the evidence table (one row per claim) and the per-patient
estimates behind the cell-level tests; :func:`pool_evidence` pools several datasets'
tables with the dataset as the unit. Verdict words follow CLAIMS.md: ``supported``
(expected direction, q < alpha, and an effect at least the claim's smallest effect of
interest), ``contradicted`` (the same in the opposite direction), ``negligible`` (q <
alpha but the estimate is below the smallest effect of interest, or the interval lies
inside it), ``inconclusive`` and ``not testable`` (with the reason in ``reason``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from scipy import stats as sps

from .. import _keys
from .._provenance import h5ad_safe
from .._stats import bh_qvalues
from ..communicate.axis import load_axis, on_axis_of
from ..communicate.by_sample import axis_strengths
from ..datasets.genes import current_symbol
from ..errors import InputDataError
from ..score import library
from ..score.coverage import coverage
from ..score.library import Signature
from . import stats
from .registry import load_claims

#: Smallest effects of interest by kind of effect (overridden by ``settings.min_effect``).
MIN_EFFECT = {"spearman_rho": 0.1, "log_odds_per_sd": 0.2, "fraction_of_patients": 0.25}

EVIDENCE_COLUMNS = [
    "dataset",
    "claim",
    "statement",
    "section",
    "level",
    "proxy",
    "x",
    "y",
    "population",
    "expected",
    "effect_type",
    "effect",
    "ci_low",
    "ci_high",
    "pvalue",
    "qvalue",
    "verdict",
    "reason",
    "min_effect",
    "effect_unadjusted",
    "ci_low_unadjusted",
    "ci_high_unadjusted",
    "pvalue_unadjusted",
    "adjusted_for",
    "n_patients",
    "n_patients_dropped",
    "n_cells",
    "tau2",
    "i2",
    "ols_slope",
    "ols_ci_low",
    "ols_ci_high",
    "lmm_slope",
    "lmm_pvalue",
    "circularity",
    "coverage",
    "z",
    "z_se",
]

PER_PATIENT_COLUMNS = ["claim", "patient", "n_cells", "rho", "rho_unadjusted", "pvalue"]


class NotTestable(Exception):
    """A claim the data cannot test; the message is the reason."""


@dataclass
class _Context:
    adata: ad.AnnData
    settings: dict[str, Any]
    seed: int
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    coverage: dict[str, str] = field(default_factory=dict)
    controls: dict[str, list[str]] = field(default_factory=dict)
    drawn: dict[str, list[str]] = field(default_factory=dict)


def _describe(var: dict) -> str:
    for kind in ("signature", "gene", "interaction"):
        if kind in var:
            text = f"{kind}:{var[kind]}"
            break
    else:
        kind = "genes" if "genes" in var else "fraction"
        text = f"{kind}:{'+'.join(var[kind])}"
    if "population" in var:
        text += f" in {'/'.join(var['population'])}"
    return text


def _genes_of(var: dict) -> dict[str, float] | None:
    if "signature" in var:
        return dict(library()[var["signature"]].weights)
    if "genes" in var:
        return dict.fromkeys(var["genes"], 1.0)
    if "gene" in var:
        return {var["gene"]: 1.0}
    return None


def circularity_guard(x: dict | None, y: dict | None) -> tuple[dict | None, dict | None, str]:
    """Drop genes shared by both sides from the larger side; say what was dropped."""
    if x is None or y is None:
        return x, y, ""
    shared = sorted(set(x) & set(y))
    if not shared:
        return x, y, ""
    side, other = ("x", "y") if len(x) >= len(y) else ("y", "x")
    larger = x if side == "x" else y
    kept = {g: w for g, w in larger.items() if g not in shared}
    if not kept:
        raise NotTestable(f"both sides are the same genes ({', '.join(shared)})")
    note = f"removed {', '.join(shared)} (shared with {other}) from {side}"
    return (kept, y, note) if side == "x" else (x, kept, note)


def _resolve(ctx: _Context, name: str, genes: dict[str, float], var: dict) -> dict[str, float]:
    """A variable's genes keyed by the data's names, outdated symbols renamed (as tl.score).

    The coverage (found, rescued by alias, missing) is recorded for the evidence table; a
    set below half its genes (or under 2 genes) is not testable, a single gene absent too.
    """
    var_names = pd.Index(ctx.adata.var_names)
    if "gene" in var:
        g = var["gene"]
        if g in var_names:
            ctx.coverage[name] = f"{g}"
            return {g: 1.0}
        if (c := current_symbol(g)) in var_names:
            ctx.coverage[name] = f"{g} as {c} (alias)"
            return {c: 1.0}
        raise NotTestable(f"gene {g} is not in the data (nor under a current symbol)")
    cov = coverage(Signature(id=name, weights=dict(genes)), var_names)
    n = len(cov.found) + len(cov.rescued)
    text = f"{n}/{cov.n_genes} genes"
    if cov.rescued:
        text += " (alias: " + ", ".join(f"{a}->{b}" for a, b in cov.rescued.items()) + ")"
    if cov.missing:
        text += f"; missing {', '.join(cov.missing)}"
    ctx.coverage[name] = text
    if n < 2 or cov.fraction < 0.5:
        raise NotTestable(
            f"{_describe(var)}: only {n} of {cov.n_genes} genes in the data "
            f"(missing {', '.join(cov.missing[:8])})"
        )
    return cov.weights(Signature(id=name, weights=dict(genes)))


def _cell_values(
    ctx: _Context, name: str, genes: dict[str, float], var: dict, exclude: set[str] = frozenset()
) -> np.ndarray:
    """Per-cell values of a gene or gene-set variable (score_genes for sets).

    ``exclude`` are the other side's genes: they never serve as control genes of this
    side's score (the circularity guard extends to the controls).
    """
    a = ctx.adata
    resolved = _resolve(ctx, name, genes, var)
    if "gene" in var:
        col = a[:, next(iter(resolved))].X
        return np.asarray(col.toarray() if hasattr(col, "toarray") else col).ravel().astype(float)
    if name not in ctx.scores:
        from ..score.engine import score

        var_names = set(a.var_names)
        excluded = sorted(
            {g for g in exclude if g in var_names} | {current_symbol(g) for g in exclude} & var_names
        )
        sig = Signature(id=name, weights=resolved)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = score(
                a,
                [sig],
                method="score_genes",
                key_added=_keys.CLAIMS_TMP,
                random_state=ctx.seed,
                exclude_from_controls=excluded,
            )
        del a.obsm[_keys.CLAIMS_TMP]
        _keys.record(a).get(_keys.SCORES, {}).pop(_keys.CLAIMS_TMP, None)
        ctx.scores[name] = frame[name].to_numpy(dtype=float)
        ctx.controls[name] = excluded
        ctx.drawn[name] = list(frame.attrs[_keys.UNS]["details"][name].get("control_genes", []))
    return ctx.scores[name]


def _other_side(genes: dict | None) -> set[str]:
    return set(genes or {})


def _mask(a: ad.AnnData, types: list[str]) -> np.ndarray:
    return a.obs["cell_type"].astype(str).isin(types).to_numpy()


def unsorted_cells(a: ad.AnnData, settings: dict) -> np.ndarray:
    """Cells not from a sorted gate (``obs["sort_gate"]``, else the cell-id patterns of ``settings``)."""
    patterns = [re.compile(p) for p in settings.get("sorted_cell_id_patterns", [])]
    if "sort_gate" in a.obs:
        gate = a.obs["sort_gate"].astype(str).str.lower()
        return gate.isin(["", "none", "nan", "unsorted"]).to_numpy()
    return np.array([not any(p.search(c) for p in patterns) for c in a.obs_names])


def _patient_values(
    ctx: _Context, name: str, genes, var: dict, *, counts: bool = False, exclude: set[str] = frozenset()
) -> tuple[pd.Series, pd.Series | None]:
    """One value per patient; a fraction is a fraction (``counts=True``: counts and totals).

    Patients without a value are NaN (never 0): no population cells, or no sender or
    receiver of an interaction.
    """
    a = ctx.adata
    patients = a.obs["patient"].astype(str)
    all_patients = pd.Index(sorted(patients.unique()))
    if "fraction" in var:
        keep = unsorted_cells(a, ctx.settings)
        if not keep.any():
            raise NotTestable(
                "every cell comes from a sorted gate (e.g. CD45neg): fractions reflect the sort"
            )
        hit = _mask(a, var["fraction"]) & keep
        totals = pd.Series(keep, index=a.obs_names).groupby(patients.to_numpy()).sum().reindex(all_patients)
        hits = pd.Series(hit, index=a.obs_names).groupby(patients.to_numpy()).sum().reindex(all_patients)
        # a patient with no unsorted cell has no fraction: NaN, counted as dropped by the test
        totals = totals.where(totals > 0).astype(float)
        hits = hits.astype(float).where(totals.notna())
        if counts:
            return hits, totals
        return hits / totals, None
    if "interaction" in var:
        comm = _keys.record(a).get(_keys.COMMUNICATION, {})
        per = comm.get("by_sample")
        if per is None:
            raise NotTestable(
                "no per-patient communication table; run tl.communicate(adata, sample_key='patient')"
            )
        groups = comm.get("groups_by_sample")
        strengths = axis_strengths(pd.DataFrame(per), [var["interaction"]], groups=groups)
        return strengths[var["interaction"]].reindex(all_patients), None
    values = _cell_values(ctx, name, genes, var, exclude)
    pop = _mask(a, var["population"])
    if not pop.any():
        raise NotTestable(f"no {'/'.join(var['population'])} cells")
    frame = pd.DataFrame({"v": values[pop], "p": patients.to_numpy()[pop]})
    return frame.groupby("p")["v"].mean().reindex(all_patients), None


def _row(claim_id: str, c: dict, dataset: str, **kw) -> dict:
    pop = c.get("population") or []
    if c.get("level") == "communication":
        axis = load_axis()["claims"][c["axis"]]
        pop = [f"{'/'.join(axis['senders'])} -> {'/'.join(axis['receivers'])}"]
    row = {
        "dataset": dataset,
        "claim": claim_id,
        "statement": c.get("statement", ""),
        "section": str(c.get("section", "")),
        "level": c["level"],
        "proxy": c.get("proxy", ""),
        "x": _describe(c["x"]) if "x" in c else "",
        "y": _describe(c["y"]) if "y" in c else "",
        "population": "/".join(pop),
        "expected": c["expected"],
        "reason": "",
        "circularity": "",
    }
    row.update(kw)
    return row


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


def _test_cell(ctx: _Context, cid: str, c: dict, xg, yg) -> dict:
    a, s = ctx.adata, ctx.settings
    x = _cell_values(ctx, f"{cid}:x", xg, c["x"], _other_side(yg))
    y = _cell_values(ctx, f"{cid}:y", yg, c["y"], _other_side(xg) | set(ctx.drawn.get(f"{cid}:x", [])))
    pop = _mask(a, c["population"])
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
        "effect": float(np.tanh(pooled.estimate)),
        "ci_low": float(np.tanh(pooled.ci_low)),
        "ci_high": float(np.tanh(pooled.ci_high)),
        "pvalue": pooled.pvalue,
        "effect_unadjusted": float(np.tanh(pooled_raw.estimate)),
        "ci_low_unadjusted": float(np.tanh(pooled_raw.ci_low)),
        "ci_high_unadjusted": float(np.tanh(pooled_raw.ci_high)),
        "pvalue_unadjusted": pooled_raw.pvalue,
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


def _cells_of(a: ad.AnnData, patients: pd.Index) -> int:
    """Cells of the given patients (those a patient-level test used)."""
    return int(a.obs["patient"].astype(str).isin(patients).sum())


def _test_patient(ctx: _Context, cid: str, c: dict, xg, yg) -> dict:
    s = ctx.settings
    xv, _ = _patient_values(ctx, f"{cid}:x", xg, c["x"], exclude=_other_side(yg))
    yv, totals = _patient_values(
        ctx,
        f"{cid}:y",
        yg,
        c["y"],
        counts="fraction" in c["y"],
        exclude=_other_side(xg) | set(ctx.drawn.get(f"{cid}:x", [])),
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
        raise NotTestable(f"constant: {_describe(c['x'])} is the same in every patient ({xs[0]:.4g})")
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
        raise NotTestable(f"constant: {_describe(c['y'])} is the same in every patient")
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


def _candidate_pairs(
    resource: str | None, var_names: pd.Index, axis_id: str, sender_proxies: list[str] | None = None
) -> int | None:
    """Interactions of the resource on a claim whose genes are all in the data (None: unknown)."""
    from ..communicate.resources import load_resource

    if not resource or resource == "user table":
        return None
    try:
        res = load_resource(resource)
    except Exception:  # noqa: BLE001 - a resource that cannot be read gives no count
        return None
    claim = load_axis()["claims"][axis_id]
    res = res.assign(sender=claim["senders"][0], receiver=claim["receivers"][0])
    on = res[on_axis_of(res, axis_id, sender_proxies=sender_proxies)]
    genes = set(var_names)
    units = [
        set(str(a).split("_")) | set(str(b).split("_"))
        for a, b in zip(on["ligand"], on["receptor"], strict=True)
    ]
    return int(sum(u <= genes for u in units))


def _patient_axis_calls(
    per: pd.DataFrame,
    groups: dict,
    axis_id: str,
    alpha: float,
    sender_proxies: list[str] | None = None,
    n_candidates: int | None = None,
) -> tuple[list[dict], list[str]]:
    """Per patient: Simes p over the claim's candidate pairs; patients lacking a side listed apart.

    The table holds only rows that passed the detection filter, which uses the same labels
    as the test: Simes over those alone rejected a true null in 17% of patients (labels
    shuffled within patients, C8). Every candidate row counts (``n_candidates`` resource
    interactions with their genes in the data, times the sender and receiver groups
    present), rows that were not tested with p = 1: 3% under the same null.
    """
    claim = load_axis()["claims"][axis_id]
    on = per[on_axis_of(per, axis_id, sender_proxies=sender_proxies)]
    by = {str(k): v for k, v in on.groupby(on["sample"].astype(str))}
    calls, absent = [], []
    for sample in sorted(groups):
        g = {str(k): int(v) for k, v in dict(groups[sample]).items()}
        senders = [k for k in g if k in claim["senders"]]
        receivers = [k for k in g if k in claim["receivers"]]
        if not senders or not receivers:
            absent.append(sample)
            continue
        rows = by.get(sample)
        tested = rows["pvalue"].to_numpy(float) if rows is not None else np.array([])
        m = (
            len(tested)
            if n_candidates is None
            else max(n_candidates * len(senders) * len(receivers), len(tested))
        )
        p = stats.simes(np.concatenate([tested, np.ones(m - len(tested))])) if len(tested) else 1.0
        p = 1.0 if not np.isfinite(p) else p
        calls.append(
            {
                "patient": sample,
                "n_cells": sum(g[k] for k in set(senders) | set(receivers)),
                "pvalue": p,
                "significant": p < alpha,
                "n_pairs": 0 if rows is None else len(rows),
            }
        )
    return calls, absent


def _test_communication(ctx: _Context, cid: str, c: dict) -> dict:
    """Per patient, then across patients: the patient is the unit of communication claims too.

    In each patient with at least one of the claim's senders and one of its receivers
    (``min_cells`` each), the claim's on-axis pairs are tested by CellPhoneDB's
    permutation within that patient and combined by Simes' method; the claim is then a
    one-sided binomial test of the number of patients with p < alpha against the
    alpha expected under no communication. The effect is the fraction of patients.
    The table over all cells pooled is kept as description (``reason``).
    """
    comm = _keys.record(ctx.adata).get(_keys.COMMUNICATION, {})
    if "table" not in comm:
        raise NotTestable(
            "communication was not inferred (run tl.communicate first)"
            + (f": {comm['not_run']}" if "not_run" in comm else "")
        )
    if comm.get("by_sample") is None or comm.get("groups_by_sample") is None:
        raise NotTestable(
            "no per-patient communication (run tl.communicate(adata, sample_key='patient') again: "
            "communication claims are tested per patient)"
        )
    s = ctx.settings
    axis = load_axis()["claims"][c["axis"]]
    per = pd.DataFrame(comm["by_sample"])
    if not int(comm.get("parameters", {}).get("n_perms", 1) or 0) or (
        len(per) and not np.isfinite(per["pvalue"].to_numpy(float)).any()
    ):
        raise NotTestable("communication was inferred without shuffles (n_perms 0): no p-values to test")
    groups = comm["groups_by_sample"]
    alpha = s["alpha"]
    resource = str(comm.get("parameters", {}).get("resource", ""))
    var_names = pd.Index(ctx.adata.var_names)
    calls, absent = _patient_axis_calls(
        per, groups, c["axis"], alpha, n_candidates=_candidate_pairs(resource, var_names, c["axis"])
    )
    skipped = sorted(comm.get("skipped_samples", {}) or {})
    n = len(calls)
    lacking = (
        f"{len(absent) + len(skipped)} patient(s) without {'/'.join(axis['senders'])} senders or "
        f"{'/'.join(axis['receivers'])} receivers (>= {comm.get('parameters', {}).get('min_cells', 5)} cells)"
    )
    if n < s["min_patients_communication"]:
        raise NotTestable(
            f"{n} patient(s) with both senders and receivers "
            f"(need {s['min_patients_communication']}); {lacking}"
        )
    k = sum(r["significant"] for r in calls)
    p, lo, hi = stats.count_test(k, n, alpha)
    t = pd.DataFrame(comm["table"])
    rows = t[on_axis_of(t, c["axis"])] if len(t) else t
    notes = [
        f"{k} of {n} patients with a significant on-axis pair (Simes over the claim's pairs, p < {alpha})"
    ]
    if "sender_proxies" in axis:
        kinds = set(load_axis()["metabolite_sender_proxies"]) | {"enzyme_only"}
        others = sorted(kinds - set(axis["sender_proxies"]))
        o_calls, _ = _patient_axis_calls(
            per,
            groups,
            c["axis"],
            alpha,
            sender_proxies=others,
            n_candidates=_candidate_pairs(resource, var_names, c["axis"], sender_proxies=others),
        )
        notes.append(
            f"{'/'.join(others)} senders reported apart, not counted: "
            f"{sum(r['significant'] for r in o_calls)} of {len(o_calls)} patients"
        )
    notes.append(lacking)
    if len(rows):
        best = rows.sort_values(["pvalue", "lr_means"], ascending=[True, False]).iloc[0]
        notes.append(
            f"all cells pooled (description): best pair {best['sender']} -> {best['receiver']} "
            f"{best['ligand_complex']} -> {best['receptor_complex']} (p {best['pvalue']:.3g})"
        )
    else:
        notes.append("all cells pooled (description): no on-axis pair expressed")
    per_patient = [
        {
            "claim": cid,
            "patient": r["patient"],
            "n_cells": r["n_cells"],
            "rho": np.nan,
            "rho_unadjusted": np.nan,
            "pvalue": r["pvalue"],
        }
        for r in calls
    ]
    return {
        "effect_type": "fraction_of_patients (axis pair significant within the patient)",
        "effect": k / n,
        "ci_low": lo,
        "ci_high": hi,
        "pvalue": p,
        "n_patients": n,
        "n_patients_dropped": len(absent) + len(skipped),
        "n_cells": int(sum(r["n_cells"] for r in calls)),
        "reason": "; ".join(notes),
        "_per_patient": per_patient,
    }


def _effect_kind(effect_type: str) -> str:
    text = str(effect_type)
    if text.startswith("spearman"):
        return "spearman_rho"
    if text.startswith("log_odds"):
        return "log_odds_per_sd"
    if text.startswith("fraction_of_patients"):
        return "fraction_of_patients"
    return ""


def verdict(row: dict, alpha: float, min_effect: dict[str, float] | None = None) -> str:
    """The verdict word of one evidence row (its q-value must be set).

    ``supported``/``contradicted`` need q < alpha *and* an estimate at least the smallest
    effect of interest of its kind (``min_effect``; default :data:`MIN_EFFECT`); a
    significant but smaller estimate, or an interval lying inside +-min_effect, is
    ``negligible``.
    """
    if row.get("verdict") == "not testable":
        return "not testable"
    thresholds = MIN_EFFECT if min_effect is None else min_effect
    own = row.get("min_effect")
    if own is not None and np.isfinite(own):
        m = float(own)  # the dataset's claims file set it (pooled rows carry it over)
    else:
        m = float(thresholds.get(_effect_kind(row.get("effect_type", "")), 0.0))
    q = row.get("qvalue")
    effect = row.get("effect")
    lo, hi = row.get("ci_low"), row.get("ci_high")
    significant = q is not None and np.isfinite(q) and q < alpha
    if not significant:
        if m > 0 and row["expected"] != "present" and _finite(lo, hi) and -m < lo and hi < m:
            return "negligible"
        return "inconclusive"
    if row["expected"] == "present":
        return "supported" if effect >= m else "negligible"
    if not abs(effect) >= m:
        return "negligible"
    want = 1 if row["expected"] == "positive" else -1
    return "supported" if np.sign(effect) == want else "contradicted"


def _with_verdict_note(row: dict, alpha: float) -> str:
    """The row's reason, plus why a verdict is negligible (two different grounds)."""
    reason = "" if row.get("reason") is None or str(row.get("reason")) == "nan" else str(row["reason"])
    if row.get("verdict") != "negligible":
        return reason
    q = row.get("qvalue")
    if q is not None and np.isfinite(q) and q < alpha:
        note = f"significant but |effect| < min_effect {row['min_effect']:g}"
    else:
        note = f"95% interval inside +-{row['min_effect']:g} (equivalent to no effect that matters)"
    return "; ".join(filter(None, [reason, note]))


def _finite(*values) -> bool:
    return all(v is not None and np.isfinite(v) for v in values)


def _min_effect_of(row: dict, thresholds: dict[str, float]) -> float:
    return float(thresholds.get(_effect_kind(row.get("effect_type", "")), np.nan))


def _control_note(ctx: _Context, cid: str, note: str) -> str:
    """The circularity record: shared genes removed, and the other side's genes kept out of controls."""
    parts = [note] if note else []
    for side, other in (("x", "y"), ("y", "x")):
        excluded = ctx.controls.get(f"{cid}:{side}")
        if excluded:
            what = f"{other}'s genes" + (" and controls" if side == "y" and ctx.drawn.get(f"{cid}:x") else "")
            parts.append(f"controls of {side} exclude {what} ({len(excluded)} genes)")
    return "; ".join(parts)


def test_claims(
    adata: ad.AnnData,
    claims: str | dict | None = None,
    *,
    dataset: str | None = None,
    only: list[str] | None = None,
    seed: int = 0,
    inplace: bool = True,
    **settings: Any,
) -> pd.DataFrame:
    """Test every claim on one harmonised, annotated dataset.

    Parameters
    ----------
    adata
        Harmonised AnnData with ``.obs["cell_type"]``, ``.obs["patient"]`` and (for the
        complexity covariate) ``.obs["n_genes"]``; communication claims read
        ``.uns["neurosig"]["communication"]`` (:func:`neurosig.tl.communicate`).
    claims
        A claims YAML path or document; default ``signatures/claims.yaml``.
    dataset
        Name of the dataset in the table (default ``.uns["neurosig"]["dataset_id"]``).
    only
        Claim ids to test (default all).
    seed
        Seed of control-gene sampling in scoring and of Monte Carlo permutations.
    inplace
        Store the evidence and per-patient rows in ``.uns["neurosig"]["claims"]``.
    **settings
        Overrides of the file's ``settings`` (``min_cells_per_patient``, ``alpha``,
        ``min_effect``, ``cell_covariates``, ``state_covariate`` = ``"neftel_state"`` to
        adjust cell-level claims for the malignant state...).

    Returns
    -------
    The evidence table (:data:`EVIDENCE_COLUMNS`); ``.attrs["per_patient"]`` holds the
    per-patient correlations behind cell-level tests (as records). With ``inplace`` both are stored
    in ``.uns["neurosig"]["claims"]``.
    """
    doc = claims if isinstance(claims, dict) else load_claims(claims)
    for col in ("cell_type", "patient"):
        if col not in adata.obs:
            raise InputDataError(
                f".obs[{col!r}] is missing; load data with neurosig.datasets.load or annotate it first."
            )
    conf = {**doc.get("settings", {}), **settings}
    conf.setdefault("min_cells_per_patient", 20)
    conf.setdefault("min_patients_cell", 3)
    conf.setdefault("min_patients_patient", 5)
    conf.setdefault("min_patients_communication", 3)
    conf.setdefault("cell_covariates", ["n_genes"])
    conf.setdefault("state_covariate", None)
    conf.setdefault("alpha", 0.05)
    conf["min_effect"] = {**MIN_EFFECT, **(conf.get("min_effect") or {})}
    dataset = dataset or str(_keys.record(adata).get(_keys.DATASET_ID, "dataset"))
    ctx = _Context(adata, conf, seed)
    rows, per_patient = [], []
    items = [(k, v) for k, v in doc["claims"].items() if only is None or k in only]
    if only is not None and len(items) != len(only):
        unknown = sorted(set(only) - set(doc["claims"]))
        raise InputDataError(f"Unknown claim ids {unknown}; known: {', '.join(doc['claims'])}.")
    for cid, c in items:
        base = _row(cid, c, dataset)
        try:
            if c.get("testable", True) is False:
                raise NotTestable(c["reason"])
            if c["level"] == "communication":
                result = _test_communication(ctx, cid, c)
            else:
                xg, yg, note = circularity_guard(_genes_of(c["x"]), _genes_of(c["y"]))
                base["circularity"] = note
                fn = _test_cell if c["level"] == "cell" else _test_patient
                try:
                    result = fn(ctx, cid, c, xg, yg)
                finally:
                    base["circularity"] = _control_note(ctx, cid, note)
                    base["coverage"] = "; ".join(
                        f"{side}: {ctx.coverage[f'{cid}:{side}']}"
                        for side in ("x", "y")
                        if f"{cid}:{side}" in ctx.coverage
                    )
            per_patient += result.pop("_per_patient", [])
            base.update(result)
        except NotTestable as err:
            base.update({"verdict": "not testable", "reason": str(err)})
        rows.append(base)
    table = pd.DataFrame(rows).reindex(columns=EVIDENCE_COLUMNS)
    table["qvalue"] = np.nan
    for level in table["level"].unique():
        m = (table["level"] == level) & table["verdict"].ne("not testable")
        table.loc[m, "qvalue"] = bh_qvalues(table.loc[m, "pvalue"].to_numpy(dtype=float))
    table["min_effect"] = [_min_effect_of(r, conf["min_effect"]) for r in table.to_dict("records")]
    table["verdict"] = [verdict(r, conf["alpha"], conf["min_effect"]) for r in table.to_dict("records")]
    table["reason"] = [_with_verdict_note(r, conf["alpha"]) for r in table.to_dict("records")]
    pp = pd.DataFrame(per_patient, columns=PER_PATIENT_COLUMNS)
    pp.insert(0, "dataset", dataset)
    table.attrs["per_patient"] = pp.to_dict("records")  # records, so that tables concatenate
    if inplace:
        store = _keys.store(adata)
        store["claims"] = {
            "evidence": h5ad_safe(table),
            "per_patient": pp,
            "settings": {k: str(v) for k, v in conf.items()},
        }
    return table


def check_independent(datasets: list[str]) -> None:
    """Refuse to pool datasets that share cells (a dataset twice, or manifest ``overlaps``)."""
    from ..datasets.manifest import get_manifest

    seen = [str(d) for d in datasets]
    twice = sorted({d for d in seen if seen.count(d) > 1})
    if twice:
        raise InputDataError(
            f"Dataset(s) {twice} appear more than once: pooling would count the same patients twice. "
            "Give each input once (or a distinct dataset name)."
        )
    manifest = get_manifest()
    known = set(manifest.ids()) if hasattr(manifest, "ids") else set()
    for i, d in enumerate(seen):
        try:
            entry = manifest.get(d) if (not known or d in known) else None
        except Exception:  # noqa: BLE001 - a user's own dataset is not in the manifest
            entry = None
        shared = sorted(set((entry or {}).get("overlaps", []) or []) & set(seen[:i] + seen[i + 1 :]))
        if shared:
            raise InputDataError(
                f"Datasets {d} and {', '.join(shared)} share cells (data_manifest.yaml 'overlaps'): "
                "pooling them would count the same patients twice. Keep one of them."
            )


def pool_evidence(
    tables: list[pd.DataFrame], alpha: float = 0.05, min_effect: dict[str, float] | None = None
) -> pd.DataFrame:
    """Per-dataset evidence plus one pooled row per claim (``dataset == "pooled"``).

    Cell- and patient-level claims: random-effects meta-analysis of the per-dataset
    estimates (Fisher z of rho, or log-odds slopes; DerSimonian-Laird with Hartung-Knapp),
    the dataset as the unit; a single testable dataset is carried over as it is.
    Communication claims: the patients of all datasets together, a one-sided binomial
    test of the patients with a significant axis pair. q-values are BH within each level
    over the pooled rows. Datasets that share cells are refused (:func:`check_independent`).
    """
    thresholds = {**MIN_EFFECT, **(min_effect or {})}
    check_independent([str(t["dataset"].iloc[0]) for t in tables if len(t) and "dataset" in t])
    stripped = []
    for t in tables:
        t = t.copy()
        t.attrs = {}
        stripped.append(t)
    every = pd.concat(stripped, ignore_index=True)
    pooled = []
    for _, grp in every.groupby("claim", sort=False):
        first = grp.iloc[0].to_dict()
        row = {
            k: first[k]
            for k in ("claim", "statement", "section", "level", "proxy", "x", "y", "population", "expected")
        }
        row["dataset"] = "pooled"
        ok = grp[grp["verdict"] != "not testable"]
        row["n_patients"] = int(ok["n_patients"].fillna(0).sum()) if len(ok) else 0
        row["n_cells"] = int(ok["n_cells"].fillna(0).sum()) if len(ok) else 0
        row["circularity"] = "; ".join(
            sorted({str(v) for v in grp["circularity"].dropna() if str(v) not in ("", "nan")})
        )
        if ok.empty:
            reasons = "; ".join(f"{d}: {r}" for d, r in zip(grp["dataset"], grp["reason"], strict=True))
            row.update({"verdict": "not testable", "reason": reasons})
        elif first["level"] == "communication":
            n = ok["n_patients"].astype(int)
            k = int(np.round((ok["effect"].astype(float) * n).sum()))
            total = int(n.sum())
            p, lo, hi = stats.count_test(k, total, alpha)
            row.update(
                {
                    "effect_type": first["effect_type"],
                    "effect": k / total,
                    "ci_low": lo,
                    "ci_high": hi,
                    "pvalue": p,
                    "n_patients_dropped": int(ok["n_patients_dropped"].fillna(0).sum()),
                    "reason": f"{k} of {total} patients over {len(ok)} dataset(s); one-sided binomial test",
                }
            )
        else:
            usable = ok[np.isfinite(ok["z"].astype(float)) & np.isfinite(ok["z_se"].astype(float))]
            if len(usable) == 1 or (len(usable) == 0 and len(ok) == 1):
                one = (usable if len(usable) else ok).iloc[0]
                row.update(
                    {k: one[k] for k in ("effect_type", "effect", "ci_low", "ci_high", "pvalue", "z", "z_se")}
                )
                row["reason"] = f"one testable dataset ({one['dataset']})"
            elif len(usable) == 0:
                row.update(
                    {"verdict": "not testable", "reason": "no dataset gave an estimate with a standard error"}
                )
            else:
                res = stats.random_effects(usable["z"].astype(float), usable["z_se"].astype(float) ** 2)
                is_rho = str(first["effect_type"]).startswith("spearman")
                f = np.tanh if is_rho else (lambda v: v)
                row.update(
                    {
                        "effect_type": first["effect_type"] + " (pooled over datasets)",
                        "effect": float(f(res.estimate)),
                        "ci_low": float(f(res.ci_low)),
                        "ci_high": float(f(res.ci_high)),
                        "pvalue": res.pvalue,
                        "tau2": res.tau2,
                        "i2": res.i2,
                        "z": res.estimate,
                        "reason": f"{res.k} datasets, random effects (Hartung-Knapp)",
                    }
                )
        pooled.append(row)
    pooled = pd.DataFrame(pooled).reindex(columns=EVIDENCE_COLUMNS)
    for level in pooled["level"].unique():
        m = (pooled["level"] == level) & pooled["verdict"].ne("not testable")
        pooled.loc[m, "qvalue"] = bh_qvalues(pooled.loc[m, "pvalue"].to_numpy(dtype=float))
    own = every.groupby("claim", sort=False)["min_effect"].first() if "min_effect" in every else None
    pooled["min_effect"] = [
        float(own[r["claim"]])
        if own is not None and r["claim"] in own and np.isfinite(own[r["claim"]])
        else _min_effect_of(r, thresholds)
        for r in pooled.to_dict("records")
    ]
    pooled["verdict"] = [verdict(r, alpha, thresholds) for r in pooled.to_dict("records")]
    pooled["reason"] = [_with_verdict_note(r, alpha) for r in pooled.to_dict("records")]
    return pd.concat([every.reindex(columns=EVIDENCE_COLUMNS), pooled], ignore_index=True)


test_claims.__test__ = False  # a public API name, not a pytest test
