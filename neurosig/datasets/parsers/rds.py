"""R ``.rds`` files (``saveRDS``): a genes x cells count matrix, a per-cell data.frame, or a Seurat object.

Read with ``rdata`` (R's serialisation parsed in Python, no R, no pickle). GEO sometimes
gzips an ``.rds`` that R had already gzipped (GBM-CARE, GSE274546: ``*_umi_counts.RDS.gz``
must be gunzipped once before ``readRDS``); every extra gzip layer is removed here.
A Seurat (v3/v4 ``Assay``) object is an S4 object, which ``rdata`` reads as nested
namespaces of its slots: the counts are ``assays$RNA@counts`` (a dgCMatrix) and the cells'
metadata ``meta.data``. The whole object is read into memory (its ``scale.data`` too).
"""

from __future__ import annotations

import gzip
import warnings
import zlib
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...errors import ParseError

_GZIP = b"\x1f\x8b"


def _rds_object(path: Path) -> Any:
    """The R object in an ``.rds`` file, gzip layers beyond R's own removed."""
    import rdata

    data = path.read_bytes()
    try:
        while data[:2] == _GZIP and (inner := gzip.decompress(data))[:2] == _GZIP:
            data = inner
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Missing constructor for R class tbl_df": read as data.frame
            parsed = rdata.parser.parse_data(data)
            return rdata.conversion.convert(parsed)
    except (OSError, EOFError, zlib.error) as err:
        raise ParseError(f"{path}: a gzip layer is damaged ({err}); the download may be truncated.") from None
    except Exception as err:  # rdata raises assorted built-in errors on bad input
        raise ParseError(f"{path}: not a readable R .rds file ({type(err).__name__}: {err}).") from None


def read_rds_matrix(files: dict[str, Path]) -> ad.AnnData:
    """Read a genes x cells matrix (dense with dimnames, or a dgCMatrix) into AnnData (cells x genes).

    Parameters
    ----------
    files
        ``{"rds": path}``.
    """
    path = files["rds"]
    return _matrix(_rds_object(path), path)


def _matrix(obj: Any, path: Path) -> ad.AnnData:
    """AnnData (cells x genes) of an R genes x cells matrix read by ``rdata``."""
    if all(hasattr(obj, s) for s in ("i", "p", "x", "Dim", "Dimnames")):
        n_genes, n_cells = (int(d) for d in obj.Dim)
        mat = sp.csc_matrix(
            (np.asarray(obj.x, dtype=np.float32), np.asarray(obj.i), np.asarray(obj.p)),
            shape=(n_genes, n_cells),
        ).T.tocsr()
        genes, cells = (list(map(str, d)) for d in obj.Dimnames)
    elif hasattr(obj, "dims") and hasattr(obj, "coords") and np.ndim(obj) == 2:  # xarray: dense matrix
        if len(obj.coords) < 2:
            raise ParseError(f"{path}: the matrix has no row and column names (dimnames).")
        genes = [str(g) for g in obj.coords[obj.dims[0]].values]
        cells = [str(c) for c in obj.coords[obj.dims[1]].values]
        mat = sp.csr_matrix(np.asarray(obj.values, dtype=np.float32).T)
    else:
        raise ParseError(
            f"{path}: holds a {type(obj).__name__}, not a genes x cells matrix with dimnames or a dgCMatrix."
        )
    return ad.AnnData(X=mat, obs=pd.DataFrame(index=pd.Index(cells)), var=pd.DataFrame(index=pd.Index(genes)))


def read_rds_table(
    files: dict[str, Path], *, index: str, index_prefix: str | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """Read a per-cell data.frame (or tibble) from an ``.rds``, indexed by its ``index`` column.

    Parameters
    ----------
    files
        ``{"table": path}``.
    index
        The column holding the cell ids.
    index_prefix
        A column whose value, with ``:``, prefixes each id (the sample prefix that
        ``tar_of_matrices`` gives the matrix's cell ids, e.g. ``P3T2:COLUMBIA000157-AAAC-1``).
    columns
        Columns to keep (default all but ``index``).
    """
    path = files["table"]
    frame = _rds_object(path)
    if not isinstance(frame, pd.DataFrame):
        raise ParseError(f"{path}: holds a {type(frame).__name__}, not a data.frame.")
    missing = [
        c
        for c in [index, *([index_prefix] if index_prefix else []), *(columns or [])]
        if c not in frame.columns
    ]
    if missing:
        raise ParseError(f"{path}: no column(s) {missing}; it has {list(frame.columns)}.")
    ids = frame[index].astype(str)
    if index_prefix:
        ids = frame[index_prefix].astype(str) + ":" + ids
    out = frame.set_index(ids).drop(columns=[index])
    if columns is not None:
        out = out[columns]
    out.index.name = None
    return out.astype({c: str for c in out.columns if str(out[c].dtype) in ("string", "category")})


_SEURAT_EXPORT = (
    "In R: obj <- readRDS('{name}'); Matrix::writeMM(obj@assays$RNA@counts, 'matrix.mtx'); "
    "writeLines(rownames(obj), 'genes.tsv'); writeLines(colnames(obj), 'barcodes.tsv'); "
    "write.csv(obj@meta.data, 'meta.csv'); then describe those files (parsers tenx_mtx and "
    "table) in your own manifest (NEUROSIG_MANIFEST or --manifest)."
)


def read_seurat_rds(files: dict[str, Path], *, assay: str = "RNA") -> ad.AnnData:
    """Read the raw counts and the cells' ``meta.data`` of a Seurat object saved with ``saveRDS``.

    Parameters
    ----------
    files
        ``{"rds": path}``.
    assay
        The assay whose ``counts`` slot is read (an integrated object also holds an
        ``integrated`` assay of corrected values for a few thousand genes: not counts).

    Returns
    -------
    AnnData (cells x genes) of the counts, with the ``meta.data`` columns as ``obs``.
    """
    path = files["rds"]
    how = _SEURAT_EXPORT.format(name=path.name)
    try:
        obj = _rds_object(path)
    except ParseError as err:
        raise ParseError(f"{err} {how}") from None
    cls = [str(c) for c in np.atleast_1d(getattr(obj, "class", []))]
    if "Seurat" not in cls:
        raise ParseError(f"{path}: holds a {cls or type(obj).__name__}, not a Seurat object.")
    assays = getattr(obj, "assays", {}) or {}
    assays = {str(k): v for k, v in assays.items()}
    if assay not in assays:
        raise ParseError(f"{path}: no assay {assay!r}; the object has {sorted(assays)}.")
    slots = assays[assay]
    if not hasattr(slots, "counts"):
        raise ParseError(
            f"{path}: the {assay} assay has no counts slot (a Seurat v5 Assay5 keeps layers, "
            f"not read here). {how}"
        )
    adata = _matrix(slots.counts, path)
    meta = getattr(obj, "meta.data", None)
    if isinstance(meta, pd.DataFrame) and len(meta) == adata.n_obs:
        meta = meta.copy()
        if not meta.index.astype(str).equals(adata.obs_names):
            if not isinstance(meta.index, pd.RangeIndex):
                raise ParseError(f"{path}: meta.data rows are not the counts' cells in the same order.")
            meta.index = adata.obs_names
        for col in meta.columns:
            if isinstance(meta[col].dtype, pd.CategoricalDtype):
                meta[col] = meta[col].astype(str)
        adata.obs = meta.set_axis(adata.obs_names)
    elif meta is not None:
        raise ParseError(f"{path}: meta.data is not a table of the {adata.n_obs} cells of the counts.")
    adata.uns["parser"] = {"name": "seurat_rds", "assay": assay}
    return adata
