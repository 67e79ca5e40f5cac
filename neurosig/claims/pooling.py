"""Pool several datasets' evidence tables, the dataset as the unit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._stats import bh_qvalues
from ..datasets.manifest import get_manifest
from ..errors import InputDataError
from . import stats
from .evidence import EVIDENCE_COLUMNS
from .levels import LEVELS
from .verdict import MIN_EFFECT, min_effect_of, verdict, with_verdict_note


def check_independent(datasets: list[str]) -> None:
    """Refuse to pool datasets that share cells (a dataset twice, or manifest ``overlaps``)."""
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


def _pool_unadjusted(rows: pd.DataFrame, is_rho: bool) -> dict:
    """The same random-effects pool of the rows' unadjusted estimates (raw beside adjusted).

    Pools the rows' ``z_unadjusted`` and ``z_se_unadjusted`` (Fisher z of the raw rho, or
    the raw log hazard ratio, with its normal-theory SE), which the tumour and survival
    levels write. Empty when a row lacks them: the cell and region levels' raw estimates
    are themselves Hartung-Knapp pools over patients, with no single SE to carry.
    """
    cols = ["z_unadjusted", "z_se_unadjusted"]
    if any(c not in rows for c in cols):
        return {}
    z, se = (rows[c].astype(float).to_numpy() for c in cols)
    if not (np.isfinite(z).all() and np.isfinite(se).all() and (se > 0).all()):
        return {}
    res = stats.random_effects(z, se**2)
    return {**res.fields(rho=is_rho, suffix="_unadjusted"), "z_unadjusted": res.estimate}


def pool_estimates(ok: pd.DataFrame, first: dict, alpha: float = 0.05) -> dict:
    """The default pooling of a level: random effects over the datasets' estimates.

    Fisher z of rho, or log-odds slopes, with their standard errors (``z``, ``z_se``);
    DerSimonian-Laird tau^2 with the Hartung-Knapp interval, the dataset as the unit. A
    single testable dataset is carried over as it is. ``adjusted_for`` is carried when the
    datasets agree on it.
    """
    usable = ok[np.isfinite(ok["z"].astype(float)) & np.isfinite(ok["z_se"].astype(float))]
    adjusted = sorted({str(v) for v in usable["adjusted_for"].dropna() if str(v) not in ("", "nan")})
    out = (
        {"adjusted_for": adjusted[0] if len(adjusted) == 1 else "per dataset (see its row)"}
        if adjusted
        else {}
    )
    if len(usable) == 1 or (len(usable) == 0 and len(ok) == 1):
        one = (usable if len(usable) else ok).iloc[0]
        raw = [
            c
            for c in ("effect_unadjusted", "ci_low_unadjusted", "ci_high_unadjusted", "pvalue_unadjusted")
            if c in one
        ]
        return {
            **out,
            **{
                k: one[k] for k in ("effect_type", "effect", "ci_low", "ci_high", "pvalue", "z", "z_se", *raw)
            },
            "reason": f"one testable dataset ({one['dataset']})",
        }
    if len(usable) == 0:
        return {"verdict": "not testable", "reason": "no dataset gave an estimate with a standard error"}
    res = stats.random_effects(usable["z"].astype(float), usable["z_se"].astype(float) ** 2)
    is_rho = str(first["effect_type"]).startswith("spearman")
    out.update(_pool_unadjusted(usable, is_rho))
    return {
        **out,
        "effect_type": str(usable["effect_type"].iloc[0]) + " (pooled over datasets)",
        **res.fields(rho=is_rho),
        "tau2": res.tau2,
        "i2": res.i2,
        "z": res.estimate,
        "reason": f"{res.k} datasets, random effects (Hartung-Knapp)",
    }


def pool_evidence(
    tables: list[pd.DataFrame], alpha: float = 0.05, min_effect: dict[str, float] | None = None
) -> pd.DataFrame:
    """Per-dataset evidence plus one pooled row per claim and data type (``dataset == "pooled"``).

    Datasets are pooled within a data type (``data_type``: single_cell, bulk,
    multi_region), never across. When the testable datasets of a claim come from several
    cohort groups (``cohort_group``: adult, paediatric), each group is also pooled alone
    (``dataset == "pooled:adult"``...; ``cohort_group`` of the all-groups row is ``all``).

    Each claim's testable rows are pooled by its level's ``pool`` (:class:`Level`):
    :func:`pool_estimates` (random effects over the datasets' estimates) unless the level
    defines its own, as the communication level does (the patients of all datasets
    together, a binomial test of those with a significant axis pair). q-values are BH
    within each level and cohort group over the pooled rows. Datasets that share cells are
    refused (:func:`check_independent`).
    """
    thresholds = {**MIN_EFFECT, **(min_effect or {})}
    check_independent([str(t["dataset"].iloc[0]) for t in tables if len(t) and "dataset" in t])
    stripped = []
    for t in tables:
        t = t.copy()
        t.attrs = {}
        stripped.append(t)
    every = pd.concat(stripped, ignore_index=True).reindex(columns=EVIDENCE_COLUMNS)
    # tables written before data types existed are single-cell
    every["data_type"] = every["data_type"].fillna("single_cell")
    every["cohort_group"] = every["cohort_group"].fillna("")
    pooled = []
    for _, grp in every.groupby(["claim", "data_type"], sort=False):
        pooled.append(_pool(grp, alpha, "all"))
        ok = grp[grp["verdict"] != "not testable"]
        groups = sorted({g for g in ok["cohort_group"].astype(str) if g not in ("", "nan")})
        if len(groups) > 1:  # adult and paediatric cohorts: each alone, and together above
            for g in groups:
                pooled.append(_pool(grp[grp["cohort_group"].astype(str) == g], alpha, g))
    pooled = pd.DataFrame(pooled).reindex(columns=EVIDENCE_COLUMNS)
    for (level, group), _ in pooled.groupby(["level", "cohort_group"], sort=False):
        m = (
            (pooled["level"] == level)
            & (pooled["cohort_group"] == group)
            & pooled["verdict"].ne("not testable")
        )
        pooled.loc[m, "qvalue"] = bh_qvalues(pooled.loc[m, "pvalue"].to_numpy(dtype=float))
    own = every.groupby("claim", sort=False)["min_effect"].first() if "min_effect" in every else None
    pooled["min_effect"] = [
        float(own[r["claim"]])
        if own is not None and r["claim"] in own and np.isfinite(own[r["claim"]])
        else min_effect_of(r, thresholds)
        for r in pooled.to_dict("records")
    ]
    pooled["verdict"] = [verdict(r, alpha, thresholds) for r in pooled.to_dict("records")]
    pooled["reason"] = [with_verdict_note(r, alpha) for r in pooled.to_dict("records")]
    return pd.concat([every.reindex(columns=EVIDENCE_COLUMNS), pooled], ignore_index=True)


def _pool(grp: pd.DataFrame, alpha: float, group: str) -> dict:
    """One pooled row of one claim over the datasets of ``grp`` (one data type), the dataset as unit."""
    first = grp.iloc[0].to_dict()
    row = {
        k: first[k]
        for k in ("claim", "statement", "section", "level", "proxy", "x", "y", "population", "expected")
    }
    row["dataset"] = "pooled" if group == "all" else f"pooled:{group}"
    row["data_type"] = first["data_type"]
    row["cohort_group"] = group
    ok = grp[grp["verdict"] != "not testable"]
    row["n_patients"] = int(ok["n_patients"].fillna(0).sum()) if len(ok) else 0
    row["n_cells"] = int(ok["n_cells"].fillna(0).sum()) if len(ok) else 0
    row["circularity"] = "; ".join(
        sorted({str(v) for v in grp["circularity"].dropna() if str(v) not in ("", "nan")})
    )
    if ok.empty:
        reasons = "; ".join(f"{d}: {r}" for d, r in zip(grp["dataset"], grp["reason"], strict=True))
        row.update({"verdict": "not testable", "reason": reasons})
    else:
        level = LEVELS.get(str(first["level"]))
        pool = level.pool if level is not None and level.pool is not None else pool_estimates
        row.update(pool(ok, first, alpha))
    return row
