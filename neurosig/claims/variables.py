"""A claim's variables: their genes, the circularity guard, and their values per cell or patient."""

from __future__ import annotations

import re
import warnings

import anndata as ad
import numpy as np
import pandas as pd

from .. import _keys
from ..communicate.by_sample import axis_strengths
from ..datasets.genes import current_symbol
from ..knowledge import library
from ..knowledge.signatures import Signature
from ..score.coverage import coverage
from ..score.engine import score
from .context import Context, NotTestable


def describe(var: dict) -> str:
    """A variable in one line, e.g. ``signature:MHC_I_machinery in malignant``."""
    for kind in ("signature", "gene", "interaction", "obs", "survival"):
        if kind in var:
            text = f"{kind}:{var[kind]}"
            break
    else:
        kind = "genes" if "genes" in var else "fraction"
        text = f"{kind}:{'+'.join(var[kind])}"
    if "population" in var:
        text += f" in {'/'.join(var['population'])}"
    return text


def genes_of(var: dict) -> dict[str, float] | None:
    """The genes (with weights) a variable is made of; ``None`` for a fraction."""
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


def resolve_variable(ctx: Context, name: str, genes: dict[str, float], var: dict) -> dict[str, float]:
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
            f"{describe(var)}: only {n} of {cov.n_genes} genes in the data "
            f"(missing {', '.join(cov.missing[:8])})"
        )
    return cov.weights(Signature(id=name, weights=dict(genes)))


def cell_values(
    ctx: Context, name: str, genes: dict[str, float], var: dict, exclude: set[str] = frozenset()
) -> np.ndarray:
    """Per-cell values of a gene or gene-set variable (score_genes for sets).

    ``exclude`` are the other side's genes: they never serve as control genes of this
    side's score (the circularity guard extends to the controls).
    """
    a = ctx.adata
    resolved = resolve_variable(ctx, name, genes, var)
    if "gene" in var:
        col = a[:, next(iter(resolved))].X
        return np.asarray(col.toarray() if hasattr(col, "toarray") else col).ravel().astype(float)
    if name not in ctx.scores:
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
                seed=ctx.seed,
                exclude_from_controls=excluded,
            )
        del a.obsm[_keys.CLAIMS_TMP]
        _keys.record(a).get(_keys.SCORES, {}).pop(_keys.CLAIMS_TMP, None)
        ctx.scores[name] = frame[name].to_numpy(dtype=float)
        ctx.controls[name] = excluded
        ctx.drawn[name] = list(frame.attrs[_keys.UNS]["details"][name].get("control_genes", []))
    return ctx.scores[name]


def other_side(genes: dict | None) -> set[str]:
    """The genes of the other side, to leave out of control-gene sampling."""
    return set(genes or {})


def in_types(a: ad.AnnData, types: list[str]) -> np.ndarray:
    """Mask of the cells whose ``cell_type`` is one of ``types``."""
    return a.obs["cell_type"].astype(str).isin(types).to_numpy()


def unsorted_cells(a: ad.AnnData, settings: dict) -> np.ndarray:
    """Cells not from a sorted gate (``obs["sort_gate"]``, else the cell-id patterns of ``settings``)."""
    patterns = [re.compile(p) for p in settings.get("sorted_cell_id_patterns", [])]
    if "sort_gate" in a.obs:
        gate = a.obs["sort_gate"].astype(str).str.lower()
        return gate.isin(["", "none", "nan", "unsorted"]).to_numpy()
    return np.array([not any(p.search(c) for p in patterns) for c in a.obs_names])


def patient_values(
    ctx: Context, name: str, genes, var: dict, *, counts: bool = False, exclude: set[str] = frozenset()
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
        hit = in_types(a, var["fraction"]) & keep
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
    values = cell_values(ctx, name, genes, var, exclude)
    pop = in_types(a, var["population"])
    if not pop.any():
        raise NotTestable(f"no {'/'.join(var['population'])} cells")
    frame = pd.DataFrame({"v": values[pop], "p": patients.to_numpy()[pop]})
    return frame.groupby("p")["v"].mean().reindex(all_patients), None
