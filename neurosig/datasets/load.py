"""Load a manifest dataset, or a user's h5ad, into the harmonised schema.

The loader is generic: the manifest's ``load`` block says which parser reads which
file (``matrix`` steps, concatenated; ``obs`` steps, joined on cell id after the
step's ``cell_id`` rewrite, a later file filling the cells an earlier one left empty
in a column of the same name; ``var`` steps, joined on gene) and its ``schema`` block
says how the authors' labels map onto :mod:`neurosig.datasets.harmonise`.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._provenance import file_hash
from ..errors import InputDataError
from .bulk import harmonise_bulk
from .fetch import available_offline, fetch_file, verified_sha256
from .harmonise import harmonise
from .manifest import Manifest, get_manifest
from .parsers import run_parser
from .parsers.h5ad import h5ad_layers, h5ad_n_vars, h5ad_raw_has_more_genes
from .streamed import harmonise_streamed, matrix_group

log = logging.getLogger(__name__)


def _rewrite_ids(ids: pd.Index, spec: dict[str, Any] | None) -> pd.Index:
    if not spec:
        return ids
    out = ids
    if "prefix" in spec:
        out = pd.Index([f"{spec['prefix']}{i}" for i in out])
    for old, new in spec.get("replace", []):
        out = out.str.replace(old, new, regex=False)
    for pattern, new in spec.get("regex_replace", []):
        out = out.str.replace(pattern, new, regex=True)
    return out


def needed_files(entry: dict[str, Any]) -> list[str]:
    """Names of the files that the dataset's loader reads."""
    names: list[str] = []
    for steps in entry["load"].values():
        for step in steps:
            names += [n for n in step["files"].values() if n not in names]
    return names


def read_raw(
    entry: dict[str, Any], *, force: bool = False, progress: bool = True
) -> tuple[ad.AnnData, dict[str, Any]]:
    """Parse and join a dataset's files, values as published; return AnnData and a report."""
    did = entry["id"]
    paths = {n: fetch_file(entry, n, force=force, progress=progress) for n in needed_files(entry)}
    report: dict[str, Any] = {"files": {}, "obs_joins": []}
    for name, path in paths.items():
        report["files"][name] = {"sha256": verified_sha256(path), "path": str(path)}

    def files_of(step):
        return {role: paths[name] for role, name in step["files"].items()}

    parts = []
    for step in entry["load"]["matrix"]:
        part = run_parser(step["parser"], files_of(step), step.get("options"))
        part.obs_names = _rewrite_ids(part.obs_names, step.get("cell_id"))
        if "sample" in step:
            part.obs["sample_from_file"] = step["sample"]
        parts.append(part)
    if len(parts) == 1:
        adata = parts[0]
    else:
        adata = ad.concat(parts, join="outer", merge="first", fill_value=0)
    if adata.obs_names.has_duplicates:
        dups = adata.obs_names[adata.obs_names.duplicated()].unique()
        raise InputDataError(
            f"{did}: duplicated cell ids in the expression files (e.g. {', '.join(dups[:3])}); "
            "give each matrix step a cell_id prefix in the manifest."
        )
    for step in entry["load"].get("obs", []):
        meta = run_parser(step["parser"], files_of(step), step.get("options"))
        source = ", ".join(step["files"].values())
        if meta.index.has_duplicates:
            dups = meta.index[meta.index.duplicated()].unique()
            raise InputDataError(
                f"{did}: the label file {source} lists {len(dups)} cell ids twice "
                f"(e.g. {', '.join(map(str, dups[:3]))}); the labels are ambiguous. Remove "
                "the duplicated rows (keep the authors' intended one) and load again."
            )
        keys = _rewrite_ids(adata.obs_names, step.get("cell_id"))
        found = keys.isin(meta.index)
        n_missing = int((~found).sum())
        if len(meta) and not found.any():
            rewritten = keys[keys != adata.obs_names]  # the cells this file's rewrite is for
            shown = rewritten if len(rewritten) else keys
            raise InputDataError(
                f"{did}: no cell of the expression files is in the label file {source}: the "
                f"ids differ (cells read as {', '.join(shown[:2])}; the file lists "
                f"{', '.join(map(str, meta.index[:2]))}). Fix the obs step's cell_id rewrite "
                "in the manifest so the two forms agree."
            )
        if n_missing and entry["schema"].get("unlabelled_cells", "error") == "error":
            examples = ", ".join(keys[~found][:3])
            raise InputDataError(
                f"{did}: {n_missing} of {adata.n_obs} cells (e.g. {examples}) are missing "
                f"from the label file {source}. If the ids differ only by a prefix, add a "
                "cell_id.replace rule to the obs step; if the authors left these cells "
                "unlabelled, set schema.unlabelled_cells: unknown."
            )
        joined = meta.reindex(keys)
        joined.index = adata.obs_names
        clash = [c for c in joined.columns if c in adata.obs.columns]
        for col in clash:  # label files of disjoint cells (scRNA and snRNA) fill one column
            adata.obs[col] = adata.obs[col].astype(object).where(adata.obs[col].notna(), joined[col])
        adata.obs = adata.obs.join(joined.drop(columns=clash))
        dropped = 0
        if (
            n_missing
            and entry["schema"].get("unlabelled_cells") == "drop"
            and step is entry["load"]["obs"][0]
        ):
            # the first label file lists the cells the authors kept: the rest failed their QC
            dropped = n_missing
            adata = adata[np.asarray(found)].copy()
        report["obs_joins"].append(
            {
                "file": source,
                "cells_matched": int(found.sum()),
                "cells_missing": n_missing,
                "cells_dropped": dropped,
                "rows_not_in_matrix": int(len(meta) - found.sum()),
            }
        )
    for step in entry["load"].get("var", []):
        meta = run_parser(step["parser"], files_of(step), step.get("options"))
        joined = meta.reindex(adata.var_names)
        adata.var = adata.var.join(joined.set_axis(adata.var_names), rsuffix="_file")
        report["var_annotated"] = int(joined.notna().any(axis=1).sum())
    return adata, report


def load(
    dataset_id: str,
    *,
    force: bool = False,
    progress: bool = True,
    manifest: Manifest | None = None,
) -> ad.AnnData:
    """Load a manifest dataset into neurosig's harmonised schema.

    Parameters
    ----------
    dataset_id
        An id from ``neurosig datasets list`` (e.g. ``tirosh2016_oligodendroglioma``).
    force
        Fetch files again even when cached.
    progress
        Show progress bars on downloads.
    manifest
        A manifest other than the bundled one.

    Returns
    -------
    AnnData with the schema described in :mod:`neurosig.datasets.harmonise` (single-cell
    entries) or :mod:`neurosig.datasets.bulk` (``modality: bulk`` or ``multi_region``:
    one row per sample).

    Examples
    --------
    >>> import neurosig as ns
    >>> adata = ns.datasets.load("tirosh2016_oligodendroglioma")  # doctest: +SKIP
    >>> adata.obs["cell_type"].value_counts()  # doctest: +SKIP
    """
    manifest = manifest or get_manifest()
    entry = manifest.get(dataset_id)
    raw, report = read_raw(entry, force=force, progress=progress)
    provenance = {
        "dataset": {
            "id": entry["id"],
            "title": entry["title"],
            "doi": entry["citation"].get("doi", ""),
            "pmid": entry["citation"].get("pmid", ""),
            "license": entry.get("license", ""),
            "citation": entry["citation"]["text"],
            "accessions": entry["accessions"],
            "technology": entry["technology"],
            "verification": entry["verification"],
            "manifest": str(manifest.source(dataset_id)),
        },
        "files": {k: v["sha256"] for k, v in report["files"].items()},
        "obs_joins": {j["file"]: {k: v for k, v in j.items() if k != "file"} for j in report["obs_joins"]},
        "parser": raw.uns.get("parser", {}),
    }
    modality = entry.get("modality", "single_cell")
    if entry.get("cohort_group"):
        provenance["cohort_group"] = entry["cohort_group"]
    if modality != "single_cell":
        return harmonise_bulk(
            raw,
            dataset_id=dataset_id,
            value_type=entry["value_type"],
            schema=entry["schema"],
            modality=modality,
            platform=entry["technology"],
            provenance=provenance,
        )
    return harmonise(
        raw,
        dataset_id=dataset_id,
        value_type=entry["value_type"],
        schema=entry["schema"],
        provenance=provenance,
        strict_labels=entry["schema"].get("unmapped_labels", "error") == "error",
    )


def _schema(patient_key, patient, label_key, sample_key) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "patient": {"column": patient_key} if patient_key is not None else {"value": str(patient)}
    }
    if label_key:
        schema["cell_type_author"] = {"column": label_key}
    if sample_key:
        schema["sample"] = {"column": sample_key}
    return schema


def _no_counts(path: Path) -> str:
    return (
        f"{path}: X is not integer counts and no layers['counts'] exists. Say what the "
        "values are with value_type (--value-type): tpm, cpm, log2_tpm10, "
        "log1p_cp10k or centred_log."
    )


def _empty_notice(n: int, ids: pd.Index) -> str:
    return (
        f"dropped {n} cells with no expression at all (e.g. {', '.join(map(str, ids[:3]))}): "
        "they cannot be typed or scored and would count in n_cells"
    )


def load_h5ad(
    path: str | Path,
    *,
    patient_key: str | None = None,
    label_key: str | None = None,
    sample_key: str | None = None,
    value_type: str | None = None,
    layer: str | None = None,
    dataset_id: str | None = None,
    symbol_column: str | None = None,
    map_ensembl: bool = False,
    patient: str | None = None,
    keep_counts: bool = True,
    stream_to: str | Path | None = None,
) -> ad.AnnData:
    """Load a user's own h5ad into the harmonised schema.

    What the loader changes or cannot use is warned about (a ``UserWarning``) and
    listed in ``.uns["neurosig"]["notices"]``, which the report shows at its top: ``.raw``
    read instead of a gene subset in ``X``, cells with no expression dropped, author
    labels that map to no term, gene symbols written in mouse case.

    Parameters
    ----------
    path
        The h5ad file.
    patient_key
        ``.obs`` column holding the patient (donor) id.
    label_key
        ``.obs`` column of cell-type labels, mapped onto the vocabulary by synonym;
        labels that match no term become ``unknown`` and are listed in
        ``.uns["neurosig"]["cells"]["unmapped_labels"]``.
    sample_key
        ``.obs`` column of the sample id (defaults to the patient).
    value_type
        Scale of the values read (see :data:`~neurosig.datasets.harmonise.VALUE_TYPES`);
        default: ``counts`` when ``layers["counts"]`` exists or ``X`` holds integers,
        otherwise an error asking for it.
    layer
        Read this layer instead of ``X`` (default ``counts`` when present).
    dataset_id
        The dataset's name (default: the file's stem).
    symbol_column
        A ``.var`` column of gene symbols, for files whose ``var_names`` are Ensembl ids.
    map_ensembl
        Map Ensembl ids to symbols with the bundled table.
    patient
        The patient of every cell, for a single-sample file without a patient column
        (instead of ``patient_key``).
    keep_counts
        Keep the counts in ``.layers["counts"]``; ``False`` holds one matrix (``X``)
        instead of two (an atlas run; see :func:`~neurosig.datasets.harmonise.harmonise`).
    stream_to
        Harmonise chunk by chunk of cells into this h5ad and return it opened
        ``backed="r"`` (:mod:`~neurosig.datasets.streamed`: the matrix never in memory; the
        counts are not kept). Applies to raw counts stored as CSR; other files load in
        memory as without it.
    """
    path = Path(path)
    if (patient_key is None) == (patient is None):
        raise InputDataError(
            f"{path}: name the patient either by an .obs column (patient_key, --patient-key) or, "
            "for a single-sample file, by a name (patient, --patient), one of the two."
        )
    notices: list[str] = []
    # .raw when it holds more genes than X (an HVG subset); else the counts layer, else X.
    # Only the matrix used is read (not X and every layer).
    if layer is None and h5ad_raw_has_more_genes(path):
        matrix = "raw"
    else:
        layers = h5ad_layers(path)
        if layer is None and "counts" in layers:
            layer = "counts"
        if layer is not None and layer not in layers:
            raise InputDataError(f"{path}: no layer {layer!r}; layers are {layers}.")
        matrix = layer or "X"
    schema = _schema(patient_key, patient, label_key, sample_key)
    did = dataset_id or path.stem
    provenance = {
        "dataset": {
            "id": did,
            "path": str(path),
            "patient_key": patient_key or "",
            "patient": patient or "",
            "label_key": label_key or "",
            "sample_key": sample_key or "",
            "layer": matrix,
        },
        "files": {path.name: file_hash(path)},
    }
    if matrix == "raw":
        n_raw, n_x = h5ad_n_vars(path, "raw"), h5ad_n_vars(path, "X")
        notices.append(
            f"read .raw ({n_raw:,} genes) instead of X ({n_x:,} genes, a subset): "
            "signatures need every gene measured; value_type describes .raw"
        )
    streamable = value_type in (None, "counts") and matrix_group(path, matrix) is not None
    if stream_to is not None and streamable:
        out, empty_ids = harmonise_streamed(
            path,
            stream_to,
            matrix=matrix,
            dataset_id=did,
            value_type=value_type or ("counts" if layer == "counts" else None),  # as in memory
            schema=schema,
            provenance=provenance,
            symbol_column=symbol_column,
            map_ensembl=map_ensembl,
            no_counts_message=_no_counts(path),
        )
        if len(empty_ids):
            notices.append(_empty_notice(len(empty_ids), empty_ids))
        n_empty = len(empty_ids)
    else:
        if matrix == "raw":
            adata = run_parser("h5ad", {"h5ad": path})
            adata = ad.AnnData(X=adata.raw.X, obs=adata.obs, var=adata.raw.var)
        elif layer is not None:
            adata = run_parser("h5ad", {"h5ad": path}, {"layer": layer})
            adata = ad.AnnData(X=adata.X, obs=adata.obs, var=adata.var)
        else:
            adata = run_parser("h5ad", {"h5ad": path})
        if value_type is None:
            data = adata.X.data if sp.issparse(adata.X) else np.asarray(adata.X)
            if layer == "counts" or (
                data.size and np.isfinite(data).all() and (data == np.round(data)).all()
            ):
                value_type = "counts"
            else:
                raise InputDataError(_no_counts(path))
        totals = np.asarray(abs(adata.X).sum(axis=1)).ravel()
        empty = totals == 0
        if empty.all():
            raise InputDataError(f"{path}: every cell has only zero values; this is not expression data.")
        if empty.any():
            notices.append(_empty_notice(int(empty.sum()), adata.obs_names[empty]))
            adata = adata[~empty].copy()
        n_empty = int(empty.sum())
        out = harmonise(
            adata,
            dataset_id=did,
            value_type=value_type,
            schema=schema,
            provenance=provenance,
            strict_labels=False,
            symbol_column=symbol_column,
            map_ensembl=map_ensembl,
            keep_counts=keep_counts,
        )
    record = out.uns["neurosig"]
    unmapped = list(record["cells"].get("unmapped_labels", []))
    if unmapped:
        n = int((out.obs["cell_type"] == "unknown").sum())
        notices.append(
            f"{len(unmapped)} author labels map to no cell type ({', '.join(unmapped[:10])}"
            f"{', ...' if len(unmapped) > 10 else ''}): their {n} cells are 'unknown' (a run annotates "
            "them by markers). Rename them to terms or synonyms of "
            "signatures/cell_types.yaml to keep the authors' types"
        )
    genes = record.get("genes", {})
    if genes.get("mouse_case_symbols"):
        notices.append(
            f"{genes['mouse_case_symbols']} gene names are written in mouse case "
            f"({', '.join(genes['mouse_case_examples'][:8])}) although their upper-case form is a "
            "human symbol; signatures holding them miss those genes. Upper-case them if the data "
            "is human; map orthologs if it is mouse"
        )
    for text in notices:
        warnings.warn(f"{did}: {text}.", UserWarning, stacklevel=2)
    if notices:
        record["notices"] = notices
    record["cells"]["empty_cells_dropped"] = n_empty
    return out


def default_dataset(manifest: Manifest | None = None) -> str:
    """The dataset ``neurosig run`` uses when none is named.

    Tirosh 2016 from the mirror or cache when available there, otherwise the same
    cells as shipped inside the ``infercnvpy`` wheel (any machine, no network).
    """
    manifest = manifest or get_manifest()
    entry = manifest.get("tirosh2016_oligodendroglioma")
    if available_offline(entry, needed_files(entry)):
        return entry["id"]
    return "tirosh2016_oligodendroglioma_infercnvpy"
