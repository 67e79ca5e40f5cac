"""One schema for every dataset: cell metadata, gene symbols and one expression scale.

After :func:`harmonise` an AnnData holds

``.obs``
    ``dataset``; ``patient`` (the person: the unit of replication); ``sample`` (one
    specimen or library of that person: a region, a timepoint, a sort); ``region``
    (where or when within the patient the sample was taken, as the authors name it,
    e.g. ``HFC``/``LFC``, ``primary``/``recurrent``, ``A``..``D``; the string ``none``
    when the design has none, never missing); ``cell_type`` (vocabulary of
    ``signatures/cell_types.yaml``), ``cell_type_author`` (the published label),
    ``state_author`` (the authors' malignant state, e.g. ``AC-like``, for cells whose
    label is a state; ``none`` otherwise), ``lineage``, ``malignant`` (nullable boolean:
    True/False/<NA>), ``n_genes`` (genes detected) and ``total_linear`` (sum of the
    linear values). Without a sample rule the sample is the patient, or
    ``<patient>_<region>`` when there is a region.
``.X``
    ``log1p(x / sum(x) * 1e4)`` per cell, where ``x`` is the linear-scale value
    (raw counts, TPM or CPM): scanpy's ``normalize_total(target_sum=1e4)`` followed
    by ``log1p``. Published log values are first brought back to linear
    (``log2(TPM/10+1)`` -> ``TPM = 10 * (2**v - 1)``; ``log1p(CP10k)`` -> ``expm1``).
    Centred log values cannot be inverted and are kept as published.
``.layers``
    ``counts`` (raw counts, when the data has them) or ``tpm`` / ``cpm`` / ``cp10k``
    (the linear values as published or recovered).
``.uns["neurosig"]``
    provenance: neurosig and dependency versions, dataset id and citation, file
    sha256s, value type, transform, gene and cell reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import _keys
from .._matrix import positive_per_row
from .._provenance import package_versions, to_plain
from ..errors import InputDataError, ManifestError
from ..knowledge.vocabulary import lineage_of, map_label, vocabulary
from .genes import harmonise_genes
from .nongene import is_non_gene, refuse_non_gene_rows

#: Target sum of the per-cell normalisation before ``log1p``.
TARGET_SUM = 1e4
#: Patient ids that are a missing value written as text (pandas' astype(str), R's NA).
MISSING_TEXT = frozenset({"", "nan", "none", "na", "<na>", "null", "n/a"})
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ValueType:
    """How a published value type relates to the linear scale."""

    name: str
    description: str
    layer: str | None  # name of the linear layer; None when it cannot be recovered
    is_log: bool


VALUE_TYPES = {
    v.name: v
    for v in (
        ValueType("counts", "raw read or UMI counts", "counts", False),
        ValueType("tpm", "transcripts per million (linear)", "tpm", False),
        ValueType("cpm", "counts per million (linear)", "cpm", False),
        ValueType("log2_tpm10", "log2(TPM/10 + 1), the Broad/Suva lab scale", "tpm", True),
        ValueType("log1p_cp10k", "ln(1 + count/library * 1e4), scanpy's default scale", "cp10k", True),
        ValueType("centred_log", "log values centred per gene (not invertible)", None, True),
    )
}


def _data(mat) -> np.ndarray:
    return mat.data if sp.issparse(mat) else np.asarray(mat)


_BLOCK = 1 << 24
"""Values checked per block: the checks' temporaries stay at ~100 MB whatever the matrix."""


def _blocks(data: np.ndarray):
    flat = data.reshape(-1)
    for a in range(0, flat.size, _BLOCK):
        yield flat[a : a + _BLOCK]


@dataclass
class ValueStats:
    """What the value checks need to know of a matrix, gathered block by block (or chunk by chunk)."""

    size: int = 0
    non_finite: int = 0
    vmin: float = np.inf
    vmax: float = -np.inf
    non_integer: int = 0
    first_non_integer: float | None = None
    inexact: bool = False  # some value is not exactly an integer (value-type detection)

    def add(self, data: np.ndarray) -> ValueStats:
        """Add the values ``data`` (any shape) to the statistics; returns ``self``."""
        for block in _blocks(np.asarray(data)):
            self.size += block.size
            finite = np.isfinite(block)
            n_bad = int(block.size - finite.sum())
            self.non_finite += n_bad
            self.inexact = self.inexact or bool(n_bad)
            ok = block[finite] if n_bad else block
            if ok.size == 0:
                continue
            self.vmin = min(self.vmin, float(ok.min()))
            self.vmax = max(self.vmax, float(ok.max()))
            off = np.abs(ok - np.round(ok))
            frac = off > 1e-3
            k = int(frac.sum())
            if k and self.first_non_integer is None:
                self.first_non_integer = float(ok[frac][0])
            self.non_integer += k
            self.inexact = self.inexact or bool(off.max() > 0)
        return self

    def check(self, value_type: str, source: str) -> None:
        """Refuse values that cannot be of ``value_type`` (NaN, negatives, wrong scale)."""
        vt = VALUE_TYPES[value_type]
        if self.size == 0:
            return
        if self.non_finite:
            raise InputDataError(
                f"{source}: {self.non_finite} NaN or infinite expression values. "
                "Remove or impute them before loading (neurosig never guesses missing values)."
            )
        if value_type == "centred_log":
            return
        if self.vmin < 0:
            raise InputDataError(
                f"{source}: negative values (min {self.vmin:.3g}) but the data is declared "
                f"{vt.description}. Declare value_type 'centred_log' for centred data."
            )
        if vt.is_log and self.vmax > 50:
            raise InputDataError(
                f"{source}: declared {vt.description} but the largest value is {self.vmax:.4g}, which "
                "is linear-scale. Declare value_type 'counts', 'tpm' or 'cpm'."
            )
        if value_type == "counts" and self.non_integer:
            raise InputDataError(
                f"{source}: declared raw counts but {self.non_integer} values are not integers "
                f"(e.g. {self.first_non_integer:.4g}); this is normalised data. Declare value_type "
                "'tpm', 'cpm' or 'log1p_cp10k' to match it."
            )
        if not vt.is_log and self.vmax <= 20 and self.non_integer:
            raise InputDataError(
                f"{source}: declared {vt.description} but every value is <= {self.vmax:.3g} and "
                "non-integer: this looks log-transformed. Declare value_type 'log2_tpm10' or "
                "'log1p_cp10k'."
            )


def check_values(mat, value_type: str, source: str) -> None:
    """Refuse values that cannot be of ``value_type`` (NaN, negatives, wrong scale).

    The values are read in blocks, so the checks hold no full-size temporary.
    """
    ValueStats().add(_data(mat)).check(value_type, source)


def to_linear(mat, value_type: str):
    """Linear-scale copy of ``mat`` (float32), or None for centred log values."""
    mat = sp.csr_matrix(mat, dtype=np.float32) if sp.issparse(mat) else np.asarray(mat, dtype=np.float32)
    if value_type in ("counts", "tpm", "cpm"):
        return mat
    if value_type == "centred_log":
        return None
    out = mat.copy()
    data = out.data if sp.issparse(out) else out
    if value_type == "log2_tpm10":
        data[...] = 10.0 * (np.exp2(data, dtype=np.float64) - 1.0)
    elif value_type == "log1p_cp10k":
        data[...] = np.expm1(data, dtype=np.float64)
    return out


def log_normalise(linear, target_sum: float = TARGET_SUM, *, copy: bool = True) -> sp.csr_matrix:
    """``log1p(x / rowsum * target_sum)`` per cell, as scanpy's normalize_total + log1p.

    ``copy=False`` overwrites a float32 CSR ``linear`` in place (one matrix in memory
    instead of two). Rows are transformed in blocks, so the float64 temporaries stay
    small; each value is the same either way.
    """
    mat = sp.csr_matrix(linear, dtype=np.float32, copy=copy)
    sums = np.asarray(mat.sum(axis=1), dtype=np.float64).ravel()
    scale = np.divide(target_sum, sums, out=np.zeros_like(sums), where=sums > 0)
    if mat.nnz == 0:
        return mat
    step = max(1, _BLOCK // max(1, mat.nnz // mat.shape[0]))
    for a in range(0, mat.shape[0], step):
        b = min(a + step, mat.shape[0])
        s, e = mat.indptr[a], mat.indptr[b]
        row_scale = np.repeat(scale[a:b], np.diff(mat.indptr[a : b + 1]))
        mat.data[s:e] = np.log1p(mat.data[s:e] * row_scale).astype(np.float32)
    return mat


#: The value of ``obs["region"]`` (and ``obs["state_author"]``) when the design has none.
NONE = "none"


def _apply_regex(values: pd.Series, spec: dict[str, Any], pattern: str, what: str, source: str) -> pd.Series:
    """Format the regex groups of each value; a value that does not match takes ``default``."""
    rx = re.compile(pattern)
    fmt = spec.get("format", "{0}")
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    out = []
    for v in uniques:
        m = rx.search(str(v))
        if m is None:
            if "default" in spec:
                out.append(spec["default"])
                continue
            raise InputDataError(
                f"{source} {v!r} does not match {pattern!r}, used to read {what}. Fix the "
                f"regex in the manifest's schema.{what}, or give it a `default`."
            )
        groups = m.groups() or (m.group(0),)
        out.append(fmt.format(*[g if g is not None else "" for g in groups]))
    mapped = np.array(out + [None], dtype=object)[codes]
    return pd.Series(mapped, index=values.index, dtype="string")


def resolve_field(obs: pd.DataFrame, spec: dict[str, Any] | None, what: str) -> pd.Series | None:
    """Values of one schema field (patient, sample, region, label) for every cell.

    ``spec`` takes its values from a ``column``, from the cell id (``from_cell_id``: a
    regex) or a constant ``value``. A ``column`` may also carry a ``regex``. The regex's
    groups are written through ``format`` (``"MGH{0}"``; several groups ``{0}{1}``); a
    value the regex does not match takes ``default`` when one is given and is an error
    otherwise. ``map`` then renames values (e.g. a GEO sample to the authors' patient);
    values not in it are kept, or become ``map_default`` when one is given.
    """
    if spec is None:
        return None
    if "value" in spec:
        return pd.Series(spec["value"], index=obs.index, dtype="string")
    if "column" in spec:
        if spec["column"] not in obs:
            raise InputDataError(f"No column {spec['column']!r} for {what}; columns are {list(obs.columns)}.")
        values = obs[spec["column"]].astype("string")
        pattern, source = spec.get("regex"), f"Value of column {spec['column']!r}"
    else:
        values = pd.Series(obs.index, index=obs.index, dtype="string")
        pattern, source = spec["from_cell_id"], "Cell id"
    if pattern is not None:
        values = _apply_regex(values, spec, pattern, what, source)
    elif "format" in spec:
        values = values.map(lambda v: spec["format"].format(v), na_action="ignore").astype("string")
    if "map" in spec:
        table = spec["map"]
        other = spec.get("map_default")
        values = values.map(lambda v: table.get(v, v if other is None else other), na_action="ignore").astype(
            "string"
        )
    return values


def map_cell_types(
    labels: pd.Series, exact: dict[str, str] | None, patterns: list | None, strict: bool
) -> tuple[pd.Series, list[str]]:
    """Vocabulary term per cell; unmapped labels raise (``strict``) or become ``unknown``."""
    cache: dict[Any, str | None] = {}
    out, unmapped = [], []
    for lab in labels.astype(object).where(labels.notna(), None):
        if lab not in cache:
            cache[lab] = map_label(lab, exact, patterns)
        term = cache[lab]
        if term is None:
            unmapped.append(str(lab))
            term = "unknown"
        out.append(term)
    unmapped = sorted(set(unmapped))
    if unmapped and strict:
        raise ManifestError(
            f"Author labels {unmapped[:10]} map to no vocabulary term. Add them to the "
            "dataset's cell_type_map in data_manifest.yaml (terms: "
            f"{', '.join(vocabulary())})."
        )
    bad = set(out) - set(vocabulary())
    if bad:
        raise ManifestError(f"cell_type_map targets {sorted(bad)} are not vocabulary terms.")
    return pd.Series(out, index=labels.index), unmapped


def harmonised_obs(
    obs: pd.DataFrame, schema: dict[str, Any], dataset_id: str, strict_labels: bool
) -> tuple[pd.DataFrame, list[str]]:
    """The schema's ``.obs`` (without ``n_genes``, ``total_linear``) and the unmapped author labels.

    Row by row from the author ``obs``: the same cells give the same table, whether the
    matrix is in memory or streamed from disk.
    """
    patient = resolve_field(obs, schema.get("patient"), "patient")
    sample = resolve_field(obs, schema.get("sample"), "sample")
    region = resolve_field(obs, schema.get("region"), "region")
    author = resolve_field(obs, schema.get("cell_type_author"), "cell_type_author")
    if patient is None:
        raise InputDataError(f"{dataset_id}: no patient field; name the patient column.")
    # a missing id written out as text ('nan' from astype(str), 'NA' from R) is still missing
    missing = patient.isna() | patient.str.strip().str.lower().isin(MISSING_TEXT).fillna(False)
    if missing.any():
        seen = sorted(set(patient[missing].dropna().astype(str)))
        raise InputDataError(
            f"{dataset_id}: {int(missing.sum())} cells have no patient id"
            + (f" (written as {seen})" if seen else "")
            + "; the patient is the unit of replication and cannot be missing. Fill in the "
            "patient of these cells, or drop them, before loading."
        )
    if author is None:
        author = pd.Series(pd.NA, index=obs.index, dtype="string")
    states = schema.get("malignant_states", {})
    exact = {**(schema.get("cell_type_map") or {}), **{lab: "malignant" for lab in states}}
    cell_type, unmapped = map_cell_types(author, exact, schema.get("cell_type_patterns"), strict_labels)
    state = author.map(lambda v: states.get(v, NONE), na_action="ignore").fillna(NONE)
    malignant = cell_type.map(lambda t: vocabulary()[t]["malignant"]).astype("boolean")
    if "malignant" in schema:
        spec = schema["malignant"]
        col = obs[spec["column"]].astype("string")
        malignant = pd.Series(pd.NA, index=obs.index, dtype="boolean")
        malignant[col.isin(spec.get("true", []))] = True
        malignant[col.isin(spec.get("false", []))] = False

    keep = [c for c in schema.get("keep_obs", []) if c in obs]
    new_obs = pd.DataFrame(index=obs.index)
    new_obs["dataset"] = dataset_id
    new_obs["patient"] = patient.astype(str)
    region = (region.fillna(NONE) if region is not None else pd.Series(NONE, index=obs.index)).astype(str)
    if sample is None:
        sample = patient.astype(str).where(region == NONE, patient.astype(str) + "_" + region)
    new_obs["sample"] = sample.astype(str)
    new_obs["region"] = region
    new_obs["cell_type"] = pd.Categorical(cell_type, categories=list(vocabulary()))
    new_obs["cell_type_author"] = author.astype(str).where(author.notna(), "NA")
    new_obs["lineage"] = cell_type.map(lineage_of).astype(str)
    new_obs["malignant"] = malignant
    new_obs["state_author"] = state.astype(str)
    for c in keep:
        new_obs[f"author_{c}"] = obs[c].to_numpy()
    for c in ("dataset", "patient", "sample", "region", "cell_type_author", "lineage", "state_author"):
        new_obs[c] = new_obs[c].astype("category")
    return new_obs, unmapped


def harmonise_record(
    new_obs: pd.DataFrame,
    value_type: str,
    *,
    in_place: bool,
    gene_report: dict,
    schema: dict[str, Any],
    dataset_id: str,
    unmapped: list[str],
) -> dict[str, Any]:
    """``.uns["neurosig"]`` of a harmonised dataset (before the caller's provenance)."""
    vt = VALUE_TYPES[value_type]
    empty = int((new_obs["total_linear"] == 0).sum())
    transform = (
        f"X = log1p(x / sum(x) * {TARGET_SUM:g}) per cell, x = linear values in layers['{vt.layer}']"
        if vt.layer is not None and not in_place
        else f"X = log1p(x / sum(x) * {TARGET_SUM:g}) per cell of the counts (not kept: an atlas run)"
        if in_place
        else "X = centred log values as published (not invertible)"
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "dataset_id": dataset_id,
        "value_type": value_type,
        "value_type_description": vt.description,
        "transform": transform,
        "target_sum": TARGET_SUM,
        "linear_layer": vt.layer if not in_place else None,
        "genes": gene_report,
        "cells": {
            "n_cells": int(len(new_obs)),
            "n_patients": int(new_obs["patient"].nunique()),
            "n_samples": int(new_obs["sample"].nunique()),
            "regions": sorted(new_obs["region"].unique().tolist()),
            "labels_other": {k: v for k, v in (schema.get("label_notes") or {}).items()},
            "empty_cells": empty,
            "unmapped_labels": unmapped,
            "cell_type_counts": {k: int(v) for k, v in new_obs["cell_type"].value_counts().items() if v},
        },
        "versions": package_versions(),
    }


def harmonise(
    adata: ad.AnnData,
    *,
    dataset_id: str,
    value_type: str,
    schema: dict[str, Any],
    provenance: dict[str, Any] | None = None,
    strict_labels: bool = True,
    symbol_column: str | None = None,
    map_ensembl: bool = False,
    keep_counts: bool = True,
) -> ad.AnnData:
    """Bring a parsed dataset to neurosig's schema (see the module docstring).

    Parameters
    ----------
    adata
        Cells x genes with the values as published and author metadata in ``.obs``.
    dataset_id
        Written to ``.obs["dataset"]``.
    value_type
        One of :data:`VALUE_TYPES`.
    schema
        The manifest's ``schema`` block: where patient, sample and label come from,
        the label map, and optionally a malignancy column.
    provenance
        Extra records for ``.uns["neurosig"]`` (dataset citation, file hashes...).
    strict_labels
        Raise on author labels that map to no vocabulary term (manifest datasets);
        otherwise they become ``unknown`` and are listed in the report.
    keep_counts
        Keep raw counts in ``.layers["counts"]``. ``False`` (an atlas run that will not
        write the matrix: no stage after harmonise reads counts) log-normalises them in
        place, so one matrix is held instead of two; ``X`` is the same. The input's
        matrix is overwritten (:func:`~neurosig.datasets.load_h5ad` owns the one it
        passes). TPM and CPM layers are always kept (the Neftel states are scored on TPM).
    """
    if value_type not in VALUE_TYPES:
        raise InputDataError(f"Unknown value type {value_type!r}; choose one of {', '.join(VALUE_TYPES)}.")
    if adata.obs_names.has_duplicates:
        dups = adata.obs_names[adata.obs_names.duplicated()].unique()
        raise InputDataError(
            f"{dataset_id}: {len(dups)} duplicated cell ids (e.g. {', '.join(dups[:3])}). "
            "Make them unique (e.g. prefix the sample name) before loading."
        )
    check_values(adata.X, value_type, dataset_id)
    linear = to_linear(adata.X, value_type)
    vt = VALUE_TYPES[value_type]

    removed_rows: list[str] = []
    if linear is not None:
        refuse_non_gene_rows(linear, adata.var_names, dataset_id)
        mask = is_non_gene(adata.var_names)
        if mask.any():  # a small share: drop the rows and say so
            removed_rows = [str(n) for n in adata.var_names[mask]]
            adata = adata[:, ~mask].copy()
            linear = linear[:, np.flatnonzero(~mask)]
    obs = adata.obs.copy()
    work = ad.AnnData(
        X=linear if linear is not None else sp.csr_matrix(adata.X, dtype=np.float32),
        obs=obs,
        var=adata.var.copy(),
    )
    if linear is not None:
        work, gene_report = harmonise_genes(work, symbol_column=symbol_column, map_ensembl=map_ensembl)
        gene_report["non_gene_rows_dropped"] = removed_rows
    else:
        if adata.var_names.has_duplicates:
            raise InputDataError(
                f"{dataset_id}: duplicated gene names in centred log data cannot be merged by "
                "summing; deduplicate them first."
            )
        gene_report = {"n_input_genes": int(adata.n_vars), "note": "centred data: names kept"}

    new_obs, unmapped = harmonised_obs(obs, schema, dataset_id, strict_labels)
    mat, var = work.X, work.var
    new_obs["n_genes"] = positive_per_row(mat)
    new_obs["total_linear"] = np.asarray(mat.sum(axis=1)).ravel().astype(np.float64)
    in_place = not keep_counts and vt.layer == "counts" and linear is not None
    if in_place:
        x = log_normalise(mat, copy=False)  # the counts become X
    else:
        x = log_normalise(mat) if linear is not None else sp.csr_matrix(mat, dtype=np.float32)
    out = ad.AnnData(X=x, obs=new_obs, var=var)
    if vt.layer is not None and not in_place:
        out.layers[vt.layer] = sp.csr_matrix(mat, dtype=np.float32)
    record = harmonise_record(
        new_obs,
        value_type,
        in_place=in_place,
        gene_report=gene_report,
        schema=schema,
        dataset_id=dataset_id,
        unmapped=unmapped,
    )
    record.update(provenance or {})
    out.uns[_keys.UNS] = to_plain(record)
    return out
