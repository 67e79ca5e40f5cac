"""Matrix plumbing shared by scoring and communication: read an h5ad lazily, stream cells.

``anndata.read_h5ad(path, backed="r")`` keeps ``X`` on disk but reads every layer into
memory; scoring a million-cell file with a counts layer would then hold gigabytes it
never uses. :class:`LazyH5ad` opens the file with h5py and exposes ``X`` and the layers
as anndata sparse datasets (sliced by rows on demand), plus the names.
:func:`iter_chunks` yields row blocks of ``X`` (or a layer) as CSR, from memory or disk;
:func:`check_scale` refuses NaN and raw counts where log-normalised values are needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._progress import progress as progress_bar
from .errors import InputDataError

try:  # anndata >= 0.11
    from anndata.io import read_elem, sparse_dataset
except ImportError:  # pragma: no cover
    from anndata.experimental import read_elem, sparse_dataset


def _index(group: h5py.Group) -> pd.Index:
    name = group.attrs["_index"]
    values = group[name][:]
    return pd.Index(values.astype(str) if values.dtype.kind in "OS" else values)


class LazyH5ad:
    """The parts of an AnnData that scoring and communication read, straight from an h5ad file."""

    isbacked = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.file = h5py.File(self.path, "r")
        if self.file["X"].attrs.get("encoding-type") not in ("csr_matrix",):
            raise ValueError(f"{path}: X is not a CSR matrix; streaming needs cells in rows (CSR).")
        self.X = sparse_dataset(self.file["X"])
        self.layers = {k: sparse_dataset(g) for k, g in self.file.get("layers", {}).items()}
        self.obs_names = _index(self.file["obs"])
        self.var_names = _index(self.file["var"])
        self.n_obs, self.n_vars = len(self.obs_names), len(self.var_names)
        self.uns: dict = {}
        self.obsm: dict = {}

    @property
    def obs(self) -> pd.DataFrame:
        """The cell annotations (read from the file on first use; small next to X)."""
        if not hasattr(self, "_obs"):
            self._obs = read_elem(self.file["obs"])
        return self._obs

    def close(self) -> None:
        self.file.close()


class RowSubset:
    """Some cells of an AnnData, for the streamed engines, without copying the matrix.

    ``adata[cells].copy()`` holds a second copy of the selected rows of ``X`` and every
    layer. A :class:`RowSubset` holds the row numbers only: :func:`iter_chunks` reads
    ``chunk_size`` selected rows at a time, the same chunks a copy would give (so the
    same sums in the same order). Like a backed AnnData, results are returned rather
    than stored on it (``isbacked``); ``uns`` is its own.
    """

    isbacked = True

    def __init__(self, adata: ad.AnnData, cells: np.ndarray) -> None:
        cells = np.asarray(cells)
        self.parent = adata
        self.rows = np.flatnonzero(cells) if cells.dtype == bool else np.sort(cells)
        if len(self.rows) and (np.diff(self.rows) == 0).any():
            raise ValueError("RowSubset takes each cell once: the row numbers repeat.")
        self.obs_names = pd.Index(adata.obs_names[self.rows])
        self.var_names = pd.Index(adata.var_names)
        self.n_obs, self.n_vars = len(self.rows), adata.n_vars
        self.uns: dict = {}
        self.obsm: dict = {}

    @property
    def X(self):  # noqa: N802 - AnnData's name
        """The parent's matrix (all rows; :func:`iter_chunks` selects)."""
        return self.parent.X

    @property
    def layers(self):
        """The parent's layers (all rows; :func:`iter_chunks` selects)."""
        return self.parent.layers

    @property
    def obs(self) -> pd.DataFrame:
        """The selected cells' annotations, categories they do not use dropped (as in ``adata[cells]``)."""
        if not hasattr(self, "_obs"):
            obs = self.parent.obs.iloc[self.rows].copy()
            for col in obs.columns[[isinstance(t, pd.CategoricalDtype) for t in obs.dtypes]]:
                obs[col] = obs[col].cat.remove_unused_categories()
            self._obs = obs
        return self._obs


def _source(adata: ad.AnnData, layer: str | None):
    if layer is None:
        return adata.X
    if layer not in adata.layers:
        raise InputDataError(f"No layer {layer!r}; layers are {list(adata.layers)}.")
    return adata.layers[layer]


def _row_block(mat: sp.csr_matrix, a: int, b: int) -> sp.csr_matrix:
    """Rows a:b of a CSR matrix as views of its arrays (no scan, no copy)."""
    s, e = mat.indptr[a], mat.indptr[b]
    return sp.csr_matrix(
        (mat.data[s:e], mat.indices[s:e], mat.indptr[a : b + 1] - s), shape=(b - a, mat.shape[1])
    )


def iter_chunks(
    adata: ad.AnnData, layer: str | None, chunk_size: int, progress: bool = False, desc: str = ""
) -> Iterator[tuple[int, int, sp.csr_matrix]]:
    """Row blocks of X (or a layer) as CSR (values keep their dtype), from memory or disk.

    For a :class:`RowSubset`, blocks of its selected rows (``a``, ``b`` count those rows),
    each read as spans of at most ``chunk_size`` consecutive parent rows (:func:`_rows_of`).
    """
    src = _source(adata, layer)
    n = adata.n_obs
    if isinstance(adata, RowSubset):
        for a in progress_bar(range(0, n, chunk_size), desc=desc, unit="chunk", disable=not progress):
            b = min(a + chunk_size, n)
            yield a, b, _rows_of(src, adata.rows[a:b], chunk_size)
        return
    in_memory_csr = isinstance(src, sp.csr_matrix) and src.has_canonical_format
    for a in progress_bar(range(0, n, chunk_size), desc=desc, unit="chunk", disable=not progress):
        b = min(a + chunk_size, n)
        if in_memory_csr:
            yield a, b, _row_block(src, a, b)
            continue
        yield a, b, _read(src, a, b)


def _read(src, a: int, b: int) -> sp.csr_matrix:
    """Rows a:b of a matrix in memory or on disk, as CSR."""
    block = src[a:b]
    if hasattr(block, "to_memory"):
        block = block.to_memory()
    return sp.csr_matrix(block)


def _rows_of(src, rows: np.ndarray, span: int) -> sp.csr_matrix:
    """The sorted ``rows`` of ``src`` as CSR, read as slices of at most ``span`` consecutive rows.

    In memory, ``src[rows]``. On disk, a list of rows (``src[rows]``) is read row by row,
    and a slice in one read: each slice from a selected row to the last selected row
    within ``span`` rows is read and its selected rows kept. The result equals
    ``src[rows]``: the same rows, their stored values in the same order. A selection
    scattered thinly through the file (one patient's cells in a file sorted by something
    else) reads up to ``span`` rows per chunk it keeps: at worst the whole file once per
    pass. An atlas run reads two selections from disk, the malignant cells (not thin)
    and, without author labels, the annotation's subsample (one pass).
    """
    if isinstance(src, sp.csr_matrix):
        return sp.csr_matrix(src[rows])  # in memory a row list costs nothing extra
    parts, i = [], 0
    while i < len(rows):
        lo = int(rows[i])
        j = int(np.searchsorted(rows, lo + span, side="left"))
        hi = int(rows[j - 1]) + 1
        block = _read(src, lo, hi)
        parts.append(block if hi - lo == j - i else block[rows[i:j] - lo])
        i = j
    if not parts:
        return sp.csr_matrix((0, src.shape[1]), dtype=src.dtype)
    return parts[0] if len(parts) == 1 else sp.vstack(parts, format="csr")


def column_values(
    adata: ad.AnnData, columns: list[int], layer: str | None = None, chunk_size: int = 10_000
) -> np.ndarray:
    """Some columns of X (or a layer), cells x columns as float64, read a row chunk at a time.

    ``adata[:, gene].X`` of a backed AnnData reads the whole matrix; this keeps the
    columns of each :func:`iter_chunks` block (:func:`only_columns`; the same values, as float64).
    """
    columns = list(columns)
    if any(not 0 <= c < adata.n_vars for c in columns):
        raise IndexError(f"column numbers {columns} are not all among the {adata.n_vars} genes")
    keep = np.zeros(adata.n_vars, dtype=bool)
    keep[columns] = True
    return only_columns(adata, keep, layer, chunk_size)[:, columns].toarray().astype(np.float64)


_BLOCK = 1 << 24
"""Stored values counted per block in :func:`positive_per_row` (its temporaries stay ~100 MB)."""


def positive_per_row(mat) -> np.ndarray:
    """Values > 0 per row (genes detected per cell), without a boolean copy of the matrix."""
    if not sp.issparse(mat):
        return np.asarray((mat > 0).sum(axis=1)).ravel().astype(np.int32)
    mat = sp.csr_matrix(mat)
    out = np.zeros(mat.shape[0], dtype=np.int64)
    step = max(1, _BLOCK // max(1, mat.nnz // max(1, mat.shape[0])))
    for a in range(0, mat.shape[0], step):
        b = min(a + step, mat.shape[0])
        s, e = mat.indptr[a], mat.indptr[b]
        rows = np.repeat(np.arange(b - a), np.diff(mat.indptr[a : b + 1]))
        out[a:b] = np.bincount(rows[mat.data[s:e] > 0], minlength=b - a)
    return out.astype(np.int32)


def genes_detected(adata: ad.AnnData, layer: str | None = None, chunk_size: int = 10_000) -> np.ndarray:
    """Genes with a value above 0 per cell (``(X > 0).sum(1)``), read a row chunk at a time."""
    out = np.zeros(adata.n_obs, dtype=np.int64)
    for a, b, block in iter_chunks(adata, layer, chunk_size):
        out[a:b] = positive_per_row(block)
    return out


def check_scale(first: sp.csr_matrix, needs: str) -> None:
    data = first.data
    if data.size == 0:
        return
    if np.isnan(data).any():
        raise InputDataError("The expression matrix holds NaN values; remove or impute them before scoring.")
    if needs.startswith("log") and data.max() > 50 and np.allclose(data[:10000], np.round(data[:10000])):
        raise InputDataError(
            "The matrix looks like raw counts (integers up to "
            f"{data.max():.0f}); this method expects log-normalised values. Score .X of a "
            "harmonised dataset (neurosig.datasets.load) or run sc.pp.normalize_total + sc.pp.log1p."
        )


def only_columns(
    adata, keep: np.ndarray, layer: str | None = None, chunk_size: int = 20_000
) -> sp.csr_matrix:
    """X (or a layer) in memory with only the columns in ``keep`` stored, read in chunks of cells.

    The matrix keeps its shape (every gene a column, so names and positions are those of
    the data) and each kept value its dtype and place; the other columns are empty. A
    step that reads a few hundred genes of an atlas on disk holds those, not the matrix.
    """
    keep = np.asarray(keep, dtype=bool)
    parts = []
    for _a, _b, block in iter_chunks(adata, layer, chunk_size):
        sel = keep[block.indices]
        counts = np.bincount(
            np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))[sel], minlength=block.shape[0]
        )
        indptr = np.concatenate([[0], np.cumsum(counts)])
        parts.append(sp.csr_matrix((block.data[sel], block.indices[sel], indptr), shape=block.shape))
    if not parts:
        return sp.csr_matrix((0, adata.n_vars), dtype=np.float32)
    return sp.vstack(parts, format="csr")
