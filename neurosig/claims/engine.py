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

from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from .. import _keys
from .._provenance import h5ad_safe
from .._stats import bh_qvalues
from ..errors import InputDataError
from .context import Context, NotTestable
from .evidence import DATA_TYPES, EVIDENCE_COLUMNS, PER_PATIENT_COLUMNS
from .levels import LEVELS
from .registry import load_claims
from .variables import circularity_guard, describe, genes_of, prescore
from .verdict import MIN_EFFECT, min_effect_of, verdict, with_verdict_note


def _row(claim_id: str, c: dict, dataset: str, **kw) -> dict:
    pop = c.get("population") or []
    level = LEVELS.get(c.get("level"))
    if level is not None and level.population is not None:
        pop = level.population(c)
    row = {
        "dataset": dataset,
        "claim": claim_id,
        "statement": c.get("statement", ""),
        "section": str(c.get("section", "")),
        "level": c["level"],
        "proxy": c.get("proxy", ""),
        "x": describe(c["x"]) if "x" in c else "",
        "y": describe(c["y"]) if "y" in c else "",
        "population": "/".join(pop),
        "expected": c["expected"],
        "reason": "",
        "circularity": "",
    }
    row.update(kw)
    return row


def data_type_of(adata: ad.AnnData) -> str:
    """The dataset's data type (:data:`DATA_TYPES`): ``.uns["neurosig"]["modality"]``, default single-cell."""
    modality = str(_keys.record(adata).get(_keys.MODALITY, "") or "single_cell")
    if modality not in DATA_TYPES:
        raise InputDataError(
            f'.uns["neurosig"]["modality"] is {modality!r}; use one of {", ".join(DATA_TYPES)}.'
        )
    return modality


def _control_note(ctx: Context, cid: str, note: str) -> str:
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
    data_type = data_type_of(adata)
    needed = ("cell_type", "patient") if data_type == "single_cell" else ("patient",)
    for col in needed:
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
    ctx = Context(adata, conf, seed)
    rows, per_patient = [], []
    items = [(k, v) for k, v in doc["claims"].items() if only is None or k in only]
    if only is not None and len(items) != len(only):
        unknown = sorted(set(only) - set(doc["claims"]))
        raise InputDataError(f"Unknown claim ids {unknown}; known: {', '.join(doc['claims'])}.")
    levels = sorted({str(c.get("level")) for _, c in items} - set(LEVELS))
    if levels:
        raise InputDataError(f"Unknown claim level(s) {levels}; known: {', '.join(LEVELS)}.")
    # a claim is tested on the data types its level applies to (no row otherwise)
    items = [(k, v) for k, v in items if data_type in LEVELS[v["level"]].data_types]
    group = str(_keys.record(adata).get(_keys.COHORT_GROUP, "") or "")
    # cell-level gene-set sides are scored in one batch (bulk levels read per-sample scores)
    prescore(
        ctx,
        items,
        {name for name, level in LEVELS.items() if level.variables and "single_cell" in level.data_types},
    )
    for cid, c in items:
        base = _row(cid, c, dataset, data_type=data_type, cohort_group=group)
        try:
            if c.get("testable", True) is False:
                raise NotTestable(c["reason"])
            level = LEVELS[c["level"]]
            if not level.variables:
                result = level.func(ctx, cid, c)
            else:
                xg, yg, note = circularity_guard(genes_of(c["x"]), genes_of(c["y"]) if "y" in c else None)
                base["circularity"] = note
                try:
                    result = level.func(ctx, cid, c, xg, yg)
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
    table["min_effect"] = [min_effect_of(r, conf["min_effect"]) for r in table.to_dict("records")]
    table["verdict"] = [verdict(r, conf["alpha"], conf["min_effect"]) for r in table.to_dict("records")]
    table["reason"] = [with_verdict_note(r, conf["alpha"]) for r in table.to_dict("records")]
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


test_claims.__test__ = False  # a public API name, not a pytest test
