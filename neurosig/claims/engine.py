"""Test the review's claims on one dataset, with the patient as the unit of replication.

:func:`test_claims` returns the evidence table (one row per claim) and the per-patient
estimates behind the cell-level tests; :func:`pool_evidence` pools several datasets'
tables with the dataset as the unit. Verdict words follow CLAIMS.md: ``supported``
(expected direction, q < alpha), ``contradicted`` (opposite direction, q < alpha),
``inconclusive`` and ``not testable`` (with the reason in ``reason``).
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

from .._provenance import h5ad_safe
from ..communicate.axis import load_axis, on_axis_of
from ..communicate.by_sample import axis_strengths
from ..communicate.cellphonedb import bh_qvalues
from ..errors import InputDataError
from ..score import library
from ..score.library import Signature
from . import stats
from .registry import load_claims

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
    "n_patients",
    "n_cells",
    "tau2",
    "i2",
    "ols_slope",
    "ols_ci_low",
    "ols_ci_high",
    "lmm_slope",
    "lmm_pvalue",
    "circularity",
    "z",
    "z_se",
]


class NotTestable(Exception):
    """A claim the data cannot test; the message is the reason."""


@dataclass
class _Context:
    adata: ad.AnnData
    settings: dict[str, Any]
    seed: int
    scores: dict[str, np.ndarray] = field(default_factory=dict)


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


def _cell_values(ctx: _Context, name: str, genes: dict[str, float], var: dict) -> np.ndarray:
    """Per-cell values of a gene or gene-set variable (score_genes for sets)."""
    a = ctx.adata
    var_names = pd.Index(a.var_names)
    if "gene" in var:
        g = var["gene"]
        if g not in var_names:
            raise NotTestable(f"gene {g} is not in the data")
        col = a[:, g].X
        return np.asarray(col.toarray() if hasattr(col, "toarray") else col).ravel().astype(float)
    present = [g for g in genes if g in var_names]
    if len(present) < 2 or len(present) / len(genes) < 0.5:
        missing = [g for g in genes if g not in var_names]
        raise NotTestable(
            f"{_describe(var)}: only {len(present)} of {len(genes)} genes in the data "
            f"(missing {', '.join(missing[:8])})"
        )
    if name not in ctx.scores:
        from ..score.engine import score

        sig = Signature(id=name, weights={g: w for g, w in genes.items() if g in var_names})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = score(
                a, [sig], method="score_genes", key_added="neurosig_claims_tmp", random_state=ctx.seed
            )
        del a.obsm["neurosig_claims_tmp"]
        ctx.scores[name] = frame[name].to_numpy(dtype=float)
    return ctx.scores[name]


def _mask(a: ad.AnnData, types: list[str]) -> np.ndarray:
    return a.obs["cell_type"].astype(str).isin(types).to_numpy()


def unsorted_cells(a: ad.AnnData, settings: dict) -> np.ndarray:
    """Cells not from a sorted gate (``obs["sort_gate"]``, else the cell-id patterns of ``settings``)."""
    patterns = [re.compile(p) for p in settings.get("sorted_cell_id_patterns", [])]
    if "sort_gate" in a.obs:
        gate = a.obs["sort_gate"].astype(str).str.lower()
        return gate.isin(["", "none", "nan", "unsorted"]).to_numpy()
    return np.array([not any(p.search(c) for p in patterns) for c in a.obs_names])


def _patient_values(ctx: _Context, name: str, genes, var: dict) -> tuple[pd.Series, pd.Series | None]:
    """One value per patient (and, for fractions, the denominator)."""
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
        counts = pd.Series(hit, index=a.obs_names).groupby(patients.to_numpy()).sum().reindex(all_patients)
        totals = totals[totals > 0]
        return counts.reindex(totals.index).astype(float), totals.astype(float)
    if "interaction" in var:
        comm = a.uns.get("neurosig", {}).get("communication", {})
        per = comm.get("by_sample")
        if per is None:
            raise NotTestable(
                "no per-patient communication table; run tl.communicate(adata, sample_key='patient')"
            )
        return axis_strengths(per, [var["interaction"]])[var["interaction"]], None
    values = _cell_values(ctx, name, genes, var)
    pop = _mask(a, var["population"])
    if not pop.any():
        raise NotTestable(f"no {'/'.join(var['population'])} cells")
    frame = pd.DataFrame({"v": values[pop], "p": patients.to_numpy()[pop]})
    return frame.groupby("p")["v"].mean(), None


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


def _test_cell(ctx: _Context, cid: str, c: dict, xg, yg) -> dict:
    a, s = ctx.adata, ctx.settings
    x = _cell_values(ctx, f"{cid}:x", xg, c["x"])
    y = _cell_values(ctx, f"{cid}:y", yg, c["y"])
    pop = _mask(a, c["population"])
    if not pop.any():
        raise NotTestable(f"no {'/'.join(c['population'])} cells")
    covs = c.get("covariates", ["n_genes"])
    missing = [k for k in covs if k not in a.obs]
    if missing:
        raise InputDataError(
            f"Claim {cid} adjusts for .obs columns {missing}, which are missing. neurosig.datasets.load adds "
            "n_genes (genes detected per cell); for other data set adata.obs['n_genes'] = "
            "(adata.X > 0).sum(1), or name other covariates in the claims file."
        )
    n_genes = a.obs[covs].to_numpy(dtype=float) if covs else None
    patients = a.obs["patient"].astype(str).to_numpy()
    rhos, ns, slopes, svars, per_patient, constant = [], [], [], [], [], []
    for p in sorted(set(patients[pop])):
        m = pop & (patients == p)
        if m.sum() < s["min_cells_per_patient"]:
            continue
        xi, yi = x[m], y[m]
        rho, p_rho = stats.spearman(xi, yi)
        if not np.isfinite(rho):
            constant.append(p)
            continue
        slope, svar = stats.ols_slope(yi, xi, n_genes[m] if n_genes is not None else None)
        rhos.append(rho)
        ns.append(int(m.sum()))
        slopes.append(slope)
        svars.append(svar)
        per_patient.append({"claim": cid, "patient": p, "n_cells": int(m.sum()), "rho": rho, "pvalue": p_rho})
    k = len(rhos)
    if k < s["min_patients_cell"]:
        why = (
            f"{k} patient(s) with >= {s['min_cells_per_patient']} {'/'.join(c['population'])} cells and "
            f"non-constant values (need {s['min_patients_cell']})"
        )
        if constant:
            why += f"; constant in {', '.join(constant)}"
        raise NotTestable(why)
    z, v = stats.fisher_z(np.array(rhos), np.array(ns))
    pooled = stats.random_effects(z, v)
    ols = stats.random_effects(np.array(slopes), np.array(svars))
    m_all = pop & np.isin(patients, [r["patient"] for r in per_patient])
    lmm = stats.mixed_model(
        y[m_all], x[m_all], patients[m_all], n_genes[m_all] if n_genes is not None else None
    )
    return {
        "effect_type": "spearman_rho (pooled within-patient)",
        "effect": float(np.tanh(pooled.estimate)),
        "ci_low": float(np.tanh(pooled.ci_low)),
        "ci_high": float(np.tanh(pooled.ci_high)),
        "pvalue": pooled.pvalue,
        "n_patients": k,
        "n_cells": int(sum(ns)),
        "tau2": pooled.tau2,
        "i2": pooled.i2,
        "ols_slope": ols.estimate,
        "ols_ci_low": ols.ci_low,
        "ols_ci_high": ols.ci_high,
        "lmm_slope": lmm[0],
        "lmm_pvalue": lmm[3],
        "z": pooled.estimate,
        "z_se": (pooled.ci_high - pooled.ci_low) / (2 * sps.t.ppf(0.975, max(k - 1, 1))),
        "_per_patient": per_patient,
    }


def _test_patient(ctx: _Context, cid: str, c: dict, xg, yg) -> dict:
    s = ctx.settings
    xv, _ = _patient_values(ctx, f"{cid}:x", xg, c["x"])
    yv, totals = _patient_values(ctx, f"{cid}:y", yg, c["y"])
    common = xv.dropna().index.intersection(yv.dropna().index)
    n = len(common)
    if n < s["min_patients_patient"]:
        raise NotTestable(f"{n} patient(s) with both values (need {s['min_patients_patient']})")
    xs, ys = xv[common].to_numpy(float), yv[common].to_numpy(float)
    if np.ptp(xs) == 0:
        raise NotTestable(f"{_describe(c['x'])} is constant across patients")
    if totals is not None:
        if ys.sum() == 0:
            raise NotTestable(f"no {'/'.join(c['y']['fraction'])} cells in any patient")
        tot = totals[common].to_numpy(float)
        beta, lo, hi, p = stats.quasibinomial(ys, tot, xs)
        se = (hi - lo) / (2 * sps.t.ppf(0.975, max(n - 2, 1)))
        return {
            "effect_type": "log_odds_per_sd (quasi-binomial)",
            "effect": beta,
            "ci_low": lo,
            "ci_high": hi,
            "pvalue": p,
            "n_patients": n,
            "n_cells": int(tot.sum()),
            "z": beta,
            "z_se": se,
        }
    if np.ptp(ys) == 0:
        raise NotTestable(f"{_describe(c['y'])} is constant across patients")
    rho, p = stats.spearman(xs, ys)
    lo, hi = stats.spearman_ci(rho, n)
    z, v = stats.fisher_z(np.array([rho]), np.array([n]))
    return {
        "effect_type": "spearman_rho (across patients)",
        "effect": rho,
        "ci_low": lo,
        "ci_high": hi,
        "pvalue": p,
        "n_patients": n,
        "n_cells": int(ctx.adata.n_obs),
        "z": float(z[0]),
        "z_se": float(np.sqrt(v[0])) if n > 3 else np.nan,
    }


def _test_communication(ctx: _Context, cid: str, c: dict) -> dict:
    comm = ctx.adata.uns.get("neurosig", {}).get("communication", {})
    if "table" not in comm:
        raise NotTestable(
            "communication was not inferred (run tl.communicate first)"
            + (f": {comm['not_run']}" if "not_run" in comm else "")
        )
    axis = load_axis()["claims"][c["axis"]]
    groups = set(comm.get("groups", {}))
    senders = groups & set(axis["senders"])
    receivers = groups & set(axis["receivers"])
    if not senders or not receivers:
        side = "senders" if not senders else "receivers"
        wanted = axis[side]
        raise NotTestable(
            f"no {side} ({'/'.join(wanted)}) with >= {comm.get('parameters', {}).get('min_cells', 5)} cells"
        )
    t = comm["table"]
    rows = t[on_axis_of(t, c["axis"])]
    patients = ctx.adata.obs["patient"].nunique()
    if rows.empty:
        return {
            "effect_type": "max lr_means on the axis",
            "effect": 0.0,
            "pvalue": 1.0,
            "n_patients": patients,
            "n_cells": int(ctx.adata.n_obs),
            "reason": (
                f"no pair of {c['axis']} expressed in >= expr_prop of "
                f"{sorted(senders)} -> {sorted(receivers)}"
            ),
        }
    best = rows.sort_values("pvalue").iloc[0]
    p_adj = min(1.0, float(rows["pvalue"].min()) * len(rows))
    return {
        "effect_type": "max lr_means on the axis",
        "effect": float(rows["lr_means"].max()),
        "pvalue": p_adj,
        "n_patients": patients,
        "n_cells": int(ctx.adata.n_obs),
        "reason": (
            f"best pair {best['sender']} -> {best['receiver']} {best['ligand_complex']} -> "
            f"{best['receptor_complex']} (p {best['pvalue']:.3g}, Bonferroni over {len(rows)} pairs)"
        ),
    }


def verdict(row: dict, alpha: float) -> str:
    """The verdict word of one evidence row (its q-value must be set)."""
    if row.get("verdict") == "not testable":
        return "not testable"
    q = row.get("qvalue")
    if q is None or not np.isfinite(q) or q >= alpha:
        return "inconclusive"
    if row["expected"] == "present":
        return "supported"
    sign = np.sign(row["effect"])
    want = 1 if row["expected"] == "positive" else -1
    return "supported" if sign == want else "contradicted"


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
        Seed of control-gene sampling in scoring.
    settings
        Overrides of the file's ``settings`` (``min_cells_per_patient``, ``alpha``...).

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
    conf.setdefault("alpha", 0.05)
    dataset = dataset or str(adata.uns.get("neurosig", {}).get("dataset_id", "dataset"))
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
                result = fn(ctx, cid, c, xg, yg)
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
    table["verdict"] = [verdict(r, conf["alpha"]) for r in table.to_dict("records")]
    pp = pd.DataFrame(per_patient, columns=["claim", "patient", "n_cells", "rho", "pvalue"])
    pp.insert(0, "dataset", dataset)
    table.attrs["per_patient"] = pp.to_dict("records")  # records, so that tables concatenate
    if inplace:
        store = adata.uns.setdefault("neurosig", {})
        store["claims"] = {
            "evidence": h5ad_safe(table),
            "per_patient": pp,
            "settings": {k: str(v) for k, v in conf.items()},
        }
    return table


def pool_evidence(tables: list[pd.DataFrame], alpha: float = 0.05) -> pd.DataFrame:
    """Per-dataset evidence plus one pooled row per claim (``dataset == "pooled"``).

    Cell- and patient-level claims: random-effects meta-analysis of the per-dataset
    estimates (Fisher z of rho, or log-odds slopes; DerSimonian-Laird with Hartung-Knapp),
    the dataset as the unit; a single testable dataset is carried over as it is.
    Communication claims: Fisher's combination of the per-dataset p-values, effect the
    median. q-values are BH within each level over the pooled rows.
    """
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
            p = ok["pvalue"].astype(float).clip(lower=1e-300)
            combined = sps.combine_pvalues(p, method="fisher").pvalue if len(p) > 1 else float(p.iloc[0])
            row.update(
                {
                    "effect_type": first["effect_type"],
                    "effect": float(ok["effect"].median()),
                    "pvalue": float(combined),
                    "reason": f"{len(ok)} dataset(s) testable",
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
    pooled["verdict"] = [verdict(r, alpha) for r in pooled.to_dict("records")]
    return pd.concat([every.reindex(columns=EVIDENCE_COLUMNS), pooled], ignore_index=True)


test_claims.__test__ = False  # a public API name, not a pytest test
