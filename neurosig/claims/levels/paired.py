"""Paired level: within each patient, region A minus region B; the patients' differences combined.

The proxy P5 of CLAIMS.md (Krishna et al. 2023: high- vs low-functional-connectivity
regions of the same tumour). Each patient sampled in both regions gives one difference:

- a score (``signature``/``genes``/``gene`` in a ``population``): the standardised mean
  difference of the cells' values, (mean_A - mean_B) / pooled within-region SD of the
  patient's population cells (Cohen's d within the patient, so patients and datasets with
  different score scales combine);
- a ``fraction`` (cells of those types among unsorted cells): the log odds ratio of
  region A against region B, with 0.5 added to every cell count (Haldane-Anscombe).

Across patients the mean difference is tested by an exact sign-flip permutation (all
2^n sign vectors up to 16 patients, Monte Carlo above); scipy's Wilcoxon signed-rank p is
reported beside it. With n patients the smallest attainable two-sided p is 2/2^n, so
fewer than ``min_patients_paired`` (default 6: 2/64 = 0.031) is not testable, and the
reason lists the per-patient differences.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from .. import stats
from ..context import Context, NotTestable
from ..variables import cell_values, genes_of, in_types, unsorted_cells
from ._level import Level


def regions_of(ctx: Context, c: dict) -> tuple[str, str, pd.Series]:
    """The claim's two regions and the cells' ``obs["region"]`` (as strings)."""
    a = ctx.adata
    first, second = (str(r) for r in c["regions"])
    if "region" not in a.obs:
        raise NotTestable(
            "no .obs['region']: the dataset does not label regions (a paired claim needs "
            f"{first} and {second} samples of the same patients)"
        )
    region = a.obs["region"].astype(str)
    present = set(region.unique())
    missing = [r for r in (first, second) if r not in present]
    if missing:
        shown = ", ".join(sorted(present)[:8])
        raise NotTestable(f"region(s) {', '.join(missing)} not in .obs['region'] (found: {shown})")
    return first, second, region


def _score_differences(
    values: np.ndarray,
    pop: np.ndarray,
    patients: np.ndarray,
    region: np.ndarray,
    first: str,
    second: str,
    min_cells: int,
) -> tuple[dict[str, float], dict[str, int], list[str]]:
    """Per patient: standardised mean difference of the population's cells, first - second."""
    out, cells, short = {}, {}, []
    for p in sorted(set(patients[pop])):
        m = pop & (patients == p)
        va, vb = values[m & (region == first)], values[m & (region == second)]
        if min(va.size, vb.size) < min_cells:
            short.append(f"{p} ({va.size}/{vb.size} cells)")
            continue
        pooled = np.sqrt(
            ((va.size - 1) * va.var(ddof=1) + (vb.size - 1) * vb.var(ddof=1)) / (va.size + vb.size - 2)
        )
        if not pooled > 0:
            short.append(f"{p} (constant values)")
            continue
        out[p] = float((va.mean() - vb.mean()) / pooled)
        cells[p] = int(va.size + vb.size)
    return out, cells, short


def _fraction_differences(
    hit: np.ndarray, keep: np.ndarray, patients: np.ndarray, region: np.ndarray, first: str, second: str
) -> tuple[dict[str, float], dict[str, int], list[str]]:
    """Per patient: log odds ratio of the fraction, first region against second (0.5 added)."""
    out, cells, short = {}, {}, []
    for p in sorted(set(patients[keep])):
        m = keep & (patients == p)
        na, nb = int((m & (region == first)).sum()), int((m & (region == second)).sum())
        if min(na, nb) == 0:
            short.append(f"{p} ({na}/{nb} unsorted cells)")
            continue
        ka, kb = int((hit & m & (region == first)).sum()), int((hit & m & (region == second)).sum())
        out[p] = float(np.log((ka + 0.5) / (na - ka + 0.5)) - np.log((kb + 0.5) / (nb - kb + 0.5)))
        cells[p] = na + nb
    return out, cells, short


def run(ctx: Context, cid: str, c: dict) -> dict:
    """Per patient region A minus region B of ``y``; sign-flip permutation over patients."""
    s = ctx.settings
    a = ctx.adata
    first, second, region_s = regions_of(ctx, c)
    var = c["y"]
    patients = a.obs["patient"].astype(str).to_numpy()
    region = region_s.to_numpy()
    result: dict = {}
    if "fraction" in var:
        keep = unsorted_cells(a, s)
        if not keep.any():
            raise NotTestable(
                "every cell comes from a sorted gate (e.g. CD45neg): fractions reflect the sort"
            )
        diffs, cells, short = _fraction_differences(
            in_types(a, var["fraction"]), keep, patients, region, first, second
        )
        kind = "log_odds_ratio"
    else:
        genes = genes_of(var)
        name = f"{cid}:y"
        values = cell_values(ctx, name, genes, var)
        result["coverage"] = f"y: {ctx.coverage.get(name, '')}"
        pop = in_types(a, var["population"])
        if not pop.any():
            raise NotTestable(f"no {'/'.join(var['population'])} cells")
        diffs, cells, short = _score_differences(
            values, pop, patients, region, first, second, int(s.get("min_cells_per_region", 10))
        )
        kind = "smd"
    note = f"{len(short)} patient(s) without both regions dropped: {', '.join(short[:6])}" if short else ""
    listed = ", ".join(f"{p} {d:+.3g}" for p, d in diffs.items())
    n = len(diffs)
    need = int(s.get("min_patients_paired", 6))
    if n < need:
        attainable = f"; the smallest exact sign-flip p with {n} patient(s) is {2 / 2**n:.3g}" if n else ""
        raise NotTestable(
            f"{n} patient(s) with both {first} and {second} (need {need}){attainable}"
            + (f"; per-patient {first} - {second} ({kind}): {listed}" if listed else "")
            + (f"; {note}" if note else "")
        )
    d = np.array(list(diffs.values()))
    test = stats.sign_flip_test(d, seed=ctx.seed, alpha=float(s.get("alpha", 0.05)))
    wilcoxon = sps.wilcoxon(d) if np.any(d != 0) else None
    se = float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
    reason = [
        f"per patient {first} - {second}; p and interval: {test.method}",
        f"Wilcoxon signed-rank p {wilcoxon.pvalue:.3g}" if wilcoxon is not None else "",
        note,
    ]
    result.update(
        {
            "x": f"region: {first} - {second}",
            "effect_type": f"paired_{kind} ({first} - {second}, mean over patients)",
            "effect": test.mean,
            "ci_low": test.ci_low,
            "ci_high": test.ci_high,
            "pvalue": test.pvalue,
            "n_patients": n,
            "n_patients_dropped": len(short),
            "n_cells": int(sum(cells.values())),
            "reason": "; ".join(filter(None, reason)),
            "z": test.mean,
            "z_se": se,
            "_per_patient": [
                {"claim": cid, "patient": p, "n_cells": cells[p], "difference": v} for p, v in diffs.items()
            ],
        }
    )
    return result


def _population(c: dict) -> list[str]:
    y = c.get("y", {})
    return list(y.get("population") or y.get("fraction") or [])


LEVEL = Level(
    name="paired",
    func=run,
    desc="within each patient region A minus region B (standardised mean difference of a score, "
    "or log odds ratio of a fraction); exact sign-flip permutation over patients",
    variables=False,
    population=_population,
)
