"""Harmonise an h5ad atlas on disk, chunk by chunk of cells, into a backed AnnData.

:func:`~neurosig.datasets.harmonise.harmonise` holds the whole matrix in memory (15 GB
for a million 10x cells). :func:`harmonise_streamed` reads the input's CSR matrix a
chunk of cells at a time and, in one pass, does to each chunk what ``harmonise`` does to
the whole: the value checks (gathered, judged at the end), the read-counter summary rows
(their share gathered, refused at the end; dropped), the gene names (symbols, aliases;
duplicated symbols summed), cells with no expression (dropped), genes detected and the
linear total per cell, and ``log1p(x / sum(x) * 1e4)``. It writes the log-normalised
matrix once, in chunks, to an h5ad (:class:`~neurosig._h5ad_writer.StreamingH5ad`:
temporary name, renamed when complete) and returns it opened ``backed="r"``: ``X``
stays on disk and the later stages read it in chunks (:func:`neurosig._matrix.iter_chunks`).

Every operation is row by row, so each value equals the in-memory path's to the last
digit (``tests/datasets/test_streamed.py``). Memory: one chunk plus per-cell columns.
Only raw counts stream (a counts layer, or ``X`` of integers): as in the in-memory atlas
path the counts are not kept; data of other value types load in memory.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import _keys
from .._h5ad_writer import StreamingH5ad
from .._matrix import positive_per_row
from .._provenance import to_plain
from ..errors import InputDataError
from .genes import harmonised_gene_names, merge, merge_plan
from .harmonise import (
    ValueStats,
    harmonise_record,
    harmonised_obs,
    log_normalise,
    to_linear,
)
from .nongene import is_non_gene, refuse_non_gene_share, row_parts, share_summary

try:  # anndata >= 0.11
    from anndata.io import read_elem, sparse_dataset
except ImportError:  # pragma: no cover
    from anndata.experimental import read_elem, sparse_dataset

#: Non-zeros read per chunk (about 130 MB of values and indices, plus float64 temporaries).
CHUNK_NNZ = 16_000_000


def matrix_group(path: str | Path, matrix: str) -> str | None:
    """The h5ad path of ``matrix`` (``X``, ``raw``, or a layer name) when it is a CSR matrix, else None."""
    key = {"X": "X", "raw": "raw/X"}.get(matrix, f"layers/{matrix}")
    with h5py.File(path, "r") as f:
        if key not in f or not isinstance(f[key], h5py.Group):
            return None
        return key if f[key].attrs.get("encoding-type") == "csr_matrix" else None


def chunk_rows(indptr: np.ndarray, target_nnz: int = CHUNK_NNZ) -> list[tuple[int, int]]:
    """Row ranges holding about ``target_nnz`` non-zeros each (at least one row)."""
    bounds, a, n = [], 0, len(indptr) - 1
    while a < n:
        b = int(np.searchsorted(indptr, indptr[a] + target_nnz, side="right")) - 1
        b = min(max(b, a + 1), n)
        bounds.append((a, b))
        a = b
    return bounds


def check_free_disk(out: Path, nnz: int) -> None:
    """Refuse to start when ``out``'s disk cannot hold the harmonised matrix (8 bytes a value, +5%)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    need = int(nnz * 8 * 1.05) + (64 << 20)
    free = shutil.disk_usage(out.parent).free
    if free < need:
        raise InputDataError(
            f"{out.parent} has {free / 1e9:.1f} GB free, but the harmonised matrix of this atlas "
            f"({nnz:,} values) needs about {need / 1e9:.1f} GB there while the run reads it. Free "
            "space, or give an output folder (--out) on a disk with room."
        )


def harmonise_streamed(
    path: str | Path,
    out: str | Path,
    *,
    matrix: str,
    dataset_id: str,
    value_type: str | None,
    schema: dict[str, Any],
    provenance: dict[str, Any] | None = None,
    symbol_column: str | None = None,
    map_ensembl: bool = False,
    no_counts_message: str = "",
    target_nnz: int = CHUNK_NNZ,
) -> tuple[ad.AnnData, pd.Index]:
    """Harmonise the counts of an h5ad into ``out``, open it backed; the ids of cells dropped as empty.

    Parameters
    ----------
    path
        The user's h5ad.
    out
        Where the harmonised h5ad (``X`` log-normalised, no layers) is written.
    matrix
        ``X``, ``raw`` or a layer name: the CSR matrix read (:func:`matrix_group`).
    dataset_id, schema, provenance, symbol_column, map_ensembl
        As :func:`~neurosig.datasets.harmonise.harmonise`'s (author labels never strict).
    value_type
        ``counts``, or None to require integers (the error then says ``no_counts_message``).
    target_nnz
        Non-zeros per chunk.

    Returns
    -------
    The backed AnnData (``obs``, ``var`` and ``uns`` in memory, ``X`` on disk) and the
    ids of the cells dropped for having no expression.
    """
    if value_type not in (None, "counts"):
        raise ValueError("only raw counts are harmonised streamed; load other value types in memory")
    key = matrix_group(path, matrix)
    if key is None:
        raise ValueError(f"{path}: {matrix} is not a CSR matrix")
    with h5py.File(path, "r") as f:
        obs = read_elem(f["obs"])
        var = read_elem(f["raw/var" if matrix == "raw" else "var"])
        if obs.index.has_duplicates:
            dups = obs.index[obs.index.duplicated()].unique()
            raise InputDataError(
                f"{dataset_id}: {len(dups)} duplicated cell ids (e.g. {', '.join(dups[:3])}). "
                "Make them unique (e.g. prefix the sample name) before loading."
            )
        new_obs, unmapped = harmonised_obs(obs, schema, dataset_id, strict_labels=False)  # fails early
        non_gene = is_non_gene(var.index)
        kept_var = var.iloc[np.flatnonzero(~non_gene)].copy()
        probe = ad.AnnData(X=sp.csr_matrix((0, len(kept_var)), dtype=np.float32), var=kept_var)
        names, gene_report = harmonised_gene_names(
            probe, symbol_column=symbol_column, map_ensembl=map_ensembl
        )
        if names.has_duplicates:
            indicator, out_var = merge_plan(probe.var, names)
        else:
            indicator, out_var = None, probe.var.copy()
            out_var.index = names
        out_var.index.name = None
        gene_report["non_gene_rows_dropped"] = [str(n) for n in var.index[non_gene]]

        source = sparse_dataset(f[key])
        indptr = f[key]["indptr"][:]
        n_obs = len(indptr) - 1
        check_free_disk(Path(out), int(indptr[-1]))
        stats = ValueStats()
        empty = np.zeros(n_obs, dtype=bool)
        total_all = np.zeros(n_obs) if non_gene.any() else None
        part_all = np.zeros(n_obs) if non_gene.any() else None
        kept_cols = np.flatnonzero(~non_gene)
        n_genes, totals = [], []
        out = Path(out)
        with StreamingH5ad(out, None, out_var) as writer:  # the cells kept are known at the end
            for a, b in chunk_rows(indptr, target_nnz):
                block = sp.csr_matrix(source[a:b])
                stats.add(block.data)
                if value_type is None and stats.inexact:  # not counts: say so now, not after the pass
                    raise InputDataError(no_counts_message)
                empty[a:b] = np.asarray(abs(block).sum(axis=1)).ravel() == 0
                linear = to_linear(block, "counts")
                if total_all is not None:
                    total_all[a:b], part_all[a:b] = row_parts(linear, non_gene)
                    linear = linear[:, kept_cols]
                if indicator is not None:
                    linear = merge(linear, indicator)
                keep = np.flatnonzero(~empty[a:b])
                if len(keep) < b - a:
                    linear = linear[keep]
                n_genes.append(positive_per_row(linear))
                totals.append(np.asarray(linear.sum(axis=1)).ravel().astype(np.float64))
                writer.append(log_normalise(linear, copy=False))
            if empty.all():
                raise InputDataError(f"{path}: every cell has only zero values; this is not expression data.")
            if value_type is None and stats.inexact:
                raise InputDataError(no_counts_message)
            stats.check("counts", dataset_id)
            if total_all is not None:
                refuse_non_gene_share(
                    share_summary(total_all[~empty], part_all[~empty]), var.index, dataset_id
                )
            if empty.any():
                new_obs, unmapped = harmonised_obs(
                    obs.iloc[np.flatnonzero(~empty)], schema, dataset_id, False
                )
            new_obs["n_genes"] = np.concatenate(n_genes) if n_genes else np.zeros(0, np.int32)
            new_obs["total_linear"] = np.concatenate(totals) if totals else np.zeros(0)
            writer.obs = new_obs
    record = harmonise_record(
        new_obs,
        "counts",
        in_place=True,
        gene_report=gene_report,
        schema=schema,
        dataset_id=dataset_id,
        unmapped=unmapped,
    )
    record.update(provenance or {})
    backed = ad.read_h5ad(out, backed="r")
    backed.obs = new_obs
    backed.uns[_keys.UNS] = to_plain(record)
    return backed, obs.index[empty]
