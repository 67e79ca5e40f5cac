"""Per-patient neural-immune scores: one row per dataset x patient, ready to merge with clinical data.

Columns (fixed for every dataset, so tables from several datasets concatenate; see
``docs/exports.md`` and the data dictionary written beside the table):

``dataset``, ``patient``, ``n_cells``, ``n_cells_unsorted``
    cells of the patient, and those not from a sorted gate (the denominator of fractions).
``n__<type>``, ``frac__<type>``
    cells of each vocabulary cell type and their fraction of the unsorted cells.
``<compartment>__n_cells``, ``<compartment>__<signature>__mean|median``
    ``score_genes`` scores averaged in a compartment (malignant cells, T/NK cells, myeloid
    cells), for the signature categories ``signatures/patient_scores.yaml`` assigns it.
``neftel__<state>__frac``
    Neftel 2019 states (MES, AC, OPC, NPC) as fractions of the patient's malignant cells.
``axis__<claim>__lr_means``
    the strongest ``lr_means`` of an axis claim's on-axis ligand-receptor pairs in the
    patient (0: none expressed; NaN: communication not tested for that patient).
``neural_immune_index``, ``neural_immune_index__n_components``
    the composite index defined in ``signatures/patient_scores.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from .. import _keys
from .._atomic import atomic_path, write_text
from .._provenance import to_plain
from ..claims import unsorted_cells
from ..communicate.by_sample import axis_strengths
from ..errors import InputDataError
from ..knowledge import library, load_axis, load_claims, patient_score_spec, vocabulary

SCORE_KEY = _keys.SCORE_GENES
NEFTEL = ("MES", "AC", "OPC", "NPC")


def _compartment_signatures(spec: dict[str, Any]) -> dict[str, list[str]]:
    lib = library()
    out = {}
    for name, comp in spec["compartments"].items():
        cats = comp["categories"]
        out[name] = [
            s.id
            for s in lib.values()
            if (s.category != "cell_marker" if cats == "all" else s.category in cats)
        ]
    return out


def _axis_ids() -> list[str]:
    return list(load_axis()["claims"])


def patient_scores(adata: ad.AnnData, key: str = SCORE_KEY) -> pd.DataFrame:
    """The per-patient table (see the module docstring for every column).

    Needs ``.obs`` ``dataset``, ``patient``, ``cell_type`` and the scores in ``.obsm[key]``;
    Neftel states and communication are used when present (NaN columns otherwise). Every
    patient of ``adata`` has a row: none is dropped for having few cells.
    """
    missing = [c for c in ("dataset", "patient", "cell_type") if c not in adata.obs]
    if missing:
        raise InputDataError(f"obs lacks {missing}; load data with neurosig.datasets.load or load_h5ad.")
    if key not in adata.obsm:
        raise InputDataError(f"No scores in .obsm[{key!r}]; run neurosig.tl.score(adata) first.")
    spec = patient_score_spec()
    obs = adata.obs
    datasets = obs["dataset"].astype(str).to_numpy()
    patients = obs["patient"].astype(str).to_numpy()
    cell_type = obs["cell_type"].astype(str).to_numpy()
    index = pd.MultiIndex.from_frame(
        pd.DataFrame({"dataset": datasets, "patient": patients})
        .drop_duplicates()
        .sort_values(["dataset", "patient"])
    )
    groups = pd.MultiIndex.from_arrays([datasets, patients])
    unsorted = unsorted_cells(adata, load_claims()["settings"])

    def per_patient(values: np.ndarray, how: str = "sum") -> pd.Series:
        return pd.Series(values, index=groups).groupby(level=[0, 1]).agg(how).reindex(index)

    cols: dict[str, pd.Series] = {
        "n_cells": per_patient(np.ones(adata.n_obs, dtype=np.int64)),
        "n_cells_unsorted": per_patient(unsorted.astype(np.int64)),
    }
    denom = cols["n_cells_unsorted"].replace(0, np.nan)
    for t in vocabulary():
        hit = cell_type == t
        cols[f"n__{t}"] = per_patient(hit.astype(np.int64))
        cols[f"frac__{t}"] = per_patient((hit & unsorted).astype(np.int64)) / denom

    scores = pd.DataFrame(adata.obsm[key], index=adata.obs_names)
    for comp, sigs in _compartment_signatures(spec).items():
        in_comp = np.isin(cell_type, spec["compartments"][comp]["cell_types"])
        cols[f"{comp}__n_cells"] = per_patient(in_comp.astype(np.int64))
        sub = scores.loc[in_comp].reindex(columns=sigs)  # a refused signature: NaN column
        sub.index = groups[in_comp]
        grouped = sub.groupby(level=[0, 1])
        mean, median = grouped.mean().reindex(index), grouped.median().reindex(index)
        for s in sigs:
            cols[f"{comp}__{s}__mean"] = mean[s]
            cols[f"{comp}__{s}__median"] = median[s]

    malignant = cell_type == "malignant"
    state = obs["neftel_state"].astype(str).to_numpy() if "neftel_state" in obs else None
    n_called = per_patient(
        (malignant & np.isin(state, NEFTEL)) if state is not None else np.zeros(adata.n_obs)
    )
    for s in NEFTEL:
        hit = (malignant & (state == s)) if state is not None else np.zeros(adata.n_obs)
        cols[f"neftel__{s}__frac"] = per_patient(hit.astype(np.int64)) / n_called.replace(0, np.nan)

    cols.update(_axis_columns(adata, index))
    table = pd.DataFrame(cols, index=index)
    index_value, n_used = neural_immune_index(table, spec["neural_immune_index"])
    table["neural_immune_index"] = index_value
    table["neural_immune_index__n_components"] = n_used
    return table.reset_index()


def _axis_columns(adata: ad.AnnData, index: pd.MultiIndex) -> dict[str, pd.Series]:

    ids = _axis_ids()
    comm = _keys.record(adata).get(_keys.COMMUNICATION, {})
    per = comm.get("by_sample")
    cols = {}
    datasets = index.get_level_values(0).unique()
    if per is None or len(datasets) != 1:
        strengths = pd.DataFrame(np.nan, index=index.get_level_values(1), columns=ids)
    else:
        strengths = axis_strengths(
            pd.DataFrame(per),
            ids,
            samples=list(index.get_level_values(1)),
            groups=comm.get("groups_by_sample"),
        )
    for cid in ids:
        cols[f"axis__{cid}__lr_means"] = pd.Series(strengths[cid].to_numpy(), index=index)
    return cols


def neural_immune_index(table: pd.DataFrame, spec: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """The composite index and the number of components each patient had.

    Components are z-scored across the patients of each dataset (ddof 1), signed and
    averaged over those a patient has; fewer than ``min_components`` components, or a
    dataset with fewer than ``min_patients`` patients, gives NaN.
    """
    datasets = table.index.get_level_values("dataset")
    parts = []
    for comp in spec["components"]:
        values = table[comp["column"]].astype(float)
        z = values.groupby(datasets).transform(lambda v: (v - v.mean()) / v.std(ddof=1))
        parts.append(comp["sign"] * z.replace([np.inf, -np.inf], np.nan))
    stacked = pd.concat(parts, axis=1)
    n_used = stacked.notna().sum(axis=1)
    value = stacked.mean(axis=1, skipna=True)
    n_patients = pd.Series(1, index=table.index).groupby(datasets).transform("size")
    value[(n_used < spec["min_components"]) | (n_patients < spec["min_patients"])] = np.nan
    return value, n_used.astype(np.int64)


def _describe_column(name: str, compartments: dict[str, Any]) -> str:
    parts = name.split("__")
    fixed = {
        "dataset": "dataset id (data_manifest.yaml) or the name given to a user h5ad",
        "patient": "patient id as harmonised by neurosig (obs['patient'])",
        "n_cells": "cells of the patient in the data",
        "n_cells_unsorted": "cells not from a sorted gate (CD45neg, CD3pos...): the denominator of frac__",
        "neural_immune_index": "composite neural-immune index (see neural_immune_index below): high = "
        "neural-high and immune-cold; comparable between patients of one dataset only",
        "neural_immune_index__n_components": "components of the index available for the patient",
    }
    if name in fixed:
        return fixed[name]
    if parts[0] == "n":
        return f"cells annotated {parts[1]}"
    if parts[0] == "frac":
        return f"{parts[1]} cells / unsorted cells (NaN when every cell is from a sorted gate)"
    if parts[0] == "neftel":
        return f"fraction of the patient's malignant cells in the Neftel 2019 {parts[1]}-like state"
    if parts[0] == "axis":
        claim = load_axis()["claims"][parts[1]]
        return (
            f"strongest lr_means (CellPhoneDB method) of axis {parts[1]} ({claim.get('axis', '')}) in the "
            "patient; 0 = no pair expressed, NaN = not tested (e.g. one cell type only)"
        )
    comp = compartments[parts[0]]
    if parts[1] == "n_cells":
        return f"{parts[0]} compartment cells ({', '.join(comp['cell_types'])})"
    sig = library()[parts[1]]
    return (
        f"{parts[2]} score_genes score of {sig.id} ({sig.name}) in {parts[0]} cells "
        f"({', '.join(comp['cell_types'])}); NaN when none or the signature was not scored. "
        f"Source: {sig.citation}"
    )


def _fields(table: pd.DataFrame, describe) -> list[dict[str, str]]:
    """The Table Schema fields of ``table``: name, type (integer, number, string), description."""
    fields = []
    for name, dtype in table.dtypes.items():
        kind = (
            "integer"
            if pd.api.types.is_integer_dtype(dtype)
            else "number"
            if pd.api.types.is_float_dtype(dtype)
            else "string"
        )
        fields.append({"name": name, "type": kind, "description": describe(name)})
    return fields


def data_dictionary(table: pd.DataFrame, provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Frictionless Table Schema of ``table``: each column's type and meaning, plus provenance."""
    spec = patient_score_spec()
    fields = _fields(table, lambda name: _describe_column(name, spec["compartments"]))
    return {
        "name": "patient_scores",
        "title": "neurosig per-patient neural-immune scores",
        "description": "One row per dataset x patient; see docs/exports.md.",
        "primaryKey": ["dataset", "patient"],
        "missingValues": [""],
        "fields": fields,
        "compartments": spec["compartments"],
        "neural_immune_index": spec["neural_immune_index"],
        "provenance": provenance or {},
    }


def write_patient_scores(
    table: pd.DataFrame,
    out: str | Path,
    provenance: dict[str, Any] | None = None,
    dictionary: Any = None,
    name: str = "patient_scores",
) -> dict[str, Path]:
    """``<name>.csv``, ``.parquet`` and ``<name>.schema.json``, each written atomically.

    ``dictionary`` builds the data dictionary (default :func:`data_dictionary`; bulk
    tables use :func:`sample_dictionary`). ``name`` is ``patient_scores`` for a run; the
    pooled folder writes bulk samples as ``sample_scores``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {f"{name}.csv": out / f"{name}.csv"}
    with atomic_path(paths[f"{name}.csv"]) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    paths[f"{name}.parquet"] = out / f"{name}.parquet"
    with atomic_path(paths[f"{name}.parquet"]) as tmp:
        table.to_parquet(tmp, index=False)
    paths[f"{name}.schema.json"] = out / f"{name}.schema.json"
    schema = to_plain((dictionary or data_dictionary)(table, provenance))
    write_text(paths[f"{name}.schema.json"], json.dumps(schema, indent=1, sort_keys=True) + "\n")
    return paths


# ------------------------------------------------------------------ bulk: one row per sample
#: Fixed columns of a bulk table, in order, with their meaning (the data dictionary).
SAMPLE_COLUMNS = {
    "dataset": "dataset id (data_manifest.yaml)",
    "patient": "patient id (samples of one tumour, or primary and recurrence, share it)",
    "sample": "sample id as published (GEO GSM id where the cohort came from GEO)",
    "region": "the sample's position in a multi-region tumour (atlas); 'none' for cohorts",
    "histology": "histology as published",
    "grade": "WHO grade (I-IV) as published",
    "idh": "IDH status (mutant / wildtype; empty when not published)",
    "subtype": "the published subtype call (GlioVis Subtype.ssgsea where present)",
    "os_months": "overall survival, months (empty when not published)",
    "os_event": "1 = died, 0 = censored at os_months",
    "age": "age at diagnosis, years",
    "purity": "published tumour purity (atlas: FACETS); empty when unknown",
    "estimate_stromal": "ESTIMATE stromal score (ssGSEA, Yoshihara 2013)",
    "estimate_immune": "ESTIMATE immune score (ssGSEA, Yoshihara 2013)",
    "estimate_score": "ESTIMATE score = stromal + immune",
    "estimate_purity": "ESTIMATE purity cos(0.6049872018 + 0.0001467884 * score): calibrated on "
    "Affymetrix only (see .uns['neurosig']['estimate'] / provenance)",
    "subtype_wang2017": "GBM expression subtype called as Wang 2017 (ssGSEA of the authors' sets, "
    "smallest permutation p-value; genes median-centred across the cohort)",
}


def sample_scores(
    adata: ad.AnnData, keys: tuple[str, ...] = ("neurosig_ssgsea", "neurosig_ucell")
) -> pd.DataFrame:
    """The per-sample table of a bulk or multi-region dataset: one row per sample.

    Columns: :data:`SAMPLE_COLUMNS` (those present), the dataset's extra numeric columns
    (atlas: ``dist_periphery``, ``dist_centroid``...), the Wang 2017 scores and
    p-values (``wang2017_<Subtype>``, ``wang2017_<Subtype>_p``), then one column per
    signature and method, ``<method>__<signature>`` (``ssgsea__MHC_I_machinery``...).
    """
    obs = adata.obs
    missing = [c for c in ("dataset", "patient", "sample") if c not in obs]
    if missing:
        raise InputDataError(f"obs lacks {missing}; load bulk data with neurosig.datasets.load.")
    cols: dict[str, Any] = {}
    for c in SAMPLE_COLUMNS:
        if c in obs:
            values = obs[c]
            cols[c] = (
                values.astype(str).to_numpy() if isinstance(values.dtype, pd.CategoricalDtype) else values
            )
    extra = [
        c
        for c in obs.columns
        if c not in cols
        and not c.startswith("author_")
        and c not in ("cohort",)
        and (c.startswith("wang2017_") or pd.api.types.is_float_dtype(obs[c]))
    ]
    for c in extra:
        cols[c] = obs[c]
    table = pd.DataFrame(cols, index=obs.index)
    for key in keys:
        if key in adata.obsm:
            method = key.removeprefix(f"{_keys.UNS}_")
            frame = pd.DataFrame(adata.obsm[key], index=obs.index)
            table = table.join(frame.add_prefix(f"{method}__"))
    return table.sort_values(["dataset", "patient", "sample"]).reset_index(drop=True)


def _describe_sample_column(name: str) -> str:
    if name in SAMPLE_COLUMNS:
        return SAMPLE_COLUMNS[name]
    if name.startswith("wang2017_"):
        sub = name.removeprefix("wang2017_")
        if sub.endswith("_p"):
            return f"Wang 2017 {sub[:-2]}: permutation p-value of its ssGSEA score"
        return f"Wang 2017 {sub}: ssGSEA score of the authors' set"
    if "__" in name:
        method, sig = name.split("__", 1)
        lib = library()
        cite = f" Source: {lib[sig].citation}" if sig in lib else ""
        return f"{method} score of {sig} in the sample (NaN: signature refused for low coverage).{cite}"
    return f"published per-sample value {name} (see the dataset's manifest entry)"


def sample_dictionary(table: pd.DataFrame, provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Frictionless Table Schema of a per-sample table, with the run's provenance."""
    fields = _fields(table, _describe_sample_column)
    return {
        "name": "patient_scores",
        "title": "neurosig per-sample tumour scores (bulk / multi-region)",
        "description": "One row per dataset x sample; several samples of one patient share 'patient'.",
        "primaryKey": ["dataset", "sample"],
        "missingValues": [""],
        "fields": fields,
        "provenance": provenance or {},
    }
