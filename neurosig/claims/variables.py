"""A claim's variables: their genes, the circularity guard, and their values per cell or patient."""

from __future__ import annotations

import re
import warnings

import anndata as ad
import numpy as np
import pandas as pd

from .. import _keys
from .._matrix import column_values
from ..communicate.by_sample import axis_strengths
from ..datasets.genes import current_symbol
from ..knowledge import library
from ..knowledge.signatures import Signature
from ..score.coverage import coverage
from ..score.engine import LinearBatch
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


def _excluded(a: ad.AnnData, exclude: set[str]) -> list[str]:
    """The other side's genes present in the data (under their names or current symbols)."""
    var_names = set(a.var_names)
    return sorted({g for g in exclude if g in var_names} | {current_symbol(g) for g in exclude} & var_names)


def _add(batch: LinearBatch, name: str, resolved: dict[str, float], excluded: list[str]) -> list[str]:
    """Queue one variable's score in ``batch``; the control genes it drew."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        details = batch.add(name, resolved, exclude_from_controls=excluded)
    return list(details.get("control_genes", []))


def _batch(ctx: Context) -> LinearBatch:
    return LinearBatch(ctx.adata, "score_genes", seed=ctx.seed)


def cell_values(
    ctx: Context, name: str, genes: dict[str, float], var: dict, exclude: set[str] = frozenset()
) -> np.ndarray:
    """Per-cell values of a gene or gene-set variable (score_genes for sets).

    ``exclude`` are the other side's genes: they never serve as control genes of this
    side's score (the circularity guard extends to the controls). A set that
    :func:`prescore` scored ahead with the same exclusions is taken from its cache (the
    same numbers); otherwise it is scored here.
    """
    a = ctx.adata
    resolved = resolve_variable(ctx, name, genes, var)
    if "gene" in var:
        return gene_values(ctx, [next(iter(resolved))])[0]
    if name not in ctx.scores:
        excluded = _excluded(a, exclude)
        ahead = ctx.prescored.pop(name, None)
        if ahead is not None and ahead[1] == excluded:
            values, _, drawn = ahead
        else:
            batch = _batch(ctx)
            drawn = _add(batch, name, resolved, excluded)
            values = batch.run()[name]
        ctx.scores[name], ctx.controls[name], ctx.drawn[name] = values, excluded, drawn
    return ctx.scores[name]


def gene_values(ctx: Context, genes: list[str]) -> list[np.ndarray]:
    """Each gene's values per cell (float), read from the matrix once for all and kept in ``ctx``.

    The columns are streamed (:func:`neurosig._matrix.column_values`): ``adata[:, gene].X``
    would read a backed matrix whole.
    """
    todo = sorted(set(genes) - set(ctx.genes))
    if todo:
        cols = column_values(ctx.adata, list(pd.Index(ctx.adata.var_names).get_indexer(todo)))
        ctx.genes.update({g: cols[:, k].copy() for k, g in enumerate(todo)})
    return [ctx.genes[g] for g in genes]


def prescore(ctx: Context, items: list[tuple[str, dict]], scored: set[str]) -> None:
    """Score every gene-set side of the claims together: one gene-statistics pass, one product pass.

    For each claim of a level in ``scored`` whose sides are gene sets, the sides are
    queued as :func:`cell_values` would score them (x's controls exclude y's genes; y's
    exclude x's genes and x's drawn controls), then the matrix is read once for all. The
    results wait in ``ctx.prescored`` until a level asks for them, so the records
    (coverage, controls) are written as the level meets each side, as before; a side the
    data cannot test is left to the level, which raises the reason.
    """
    batch = _batch(ctx)
    coverage = dict(ctx.coverage)
    pending: dict[str, tuple[list[str], list[str]]] = {}
    single: list[str] = []  # the single-gene sides' genes, read in one pass
    for cid, c in items:
        if c.get("level") not in scored or c.get("testable", True) is False:
            continue
        try:
            xg, yg, _ = circularity_guard(genes_of(c["x"]), genes_of(c["y"]))
        except NotTestable:
            continue
        x_drawn = None
        sides = (("x", xg, c["x"], other_side(yg)), ("y", yg, c["y"], other_side(xg)))
        for side, genes, var, exclude in sides:
            if "gene" in var:
                try:
                    single += list(resolve_variable(ctx, f"{cid}:{side}", genes, var))
                except NotTestable:
                    pass
                continue
            if genes is None:
                continue
            name = f"{cid}:{side}"
            if side == "y":
                exclude = exclude | set(x_drawn or [])
            try:
                resolved = resolve_variable(ctx, name, genes, var)
            except NotTestable:
                continue
            excluded = _excluded(ctx.adata, exclude)
            drawn = _add(batch, name, resolved, excluded)
            pending[name] = (excluded, drawn)
            if side == "x":
                x_drawn = drawn
    ctx.coverage.clear()
    ctx.coverage.update(coverage)
    for name, values in batch.run().items():
        ctx.prescored[name] = (values, *pending[name])
    if single:
        gene_values(ctx, single)


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
