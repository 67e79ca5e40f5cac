"""Dense delimited expression matrices (TSV/CSV/space-separated, gzip or plain).

Covers the published layouts:

- infercnv / Tirosh 2016 downsampled: tab-separated, the header lists only the cells
  (one field fewer than the data rows), first column the gene;
- GEO GSE70630 / GSE89567: tab-separated, gene names wrapped in single quotes, ``NA``
  values (``na_as_zero=True`` when the authors' NA means "not detected");
- Darmanis 2017 (GSE84465): space-separated and double-quoted despite ``.csv``;
- Neftel 2019 SS2 / Filbin 2018: tab-separated with a named first column (``GENE``);
- Yuan 2018 (GSE103224): no header, Ensembl id and symbol, then one column per cell.

The matrix is read in chunks of rows and kept sparse, so a 20,000 x 10,000 text file
never sits in memory as a dense float64 table.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...errors import InputDataError, ParseError
from ..nongene import is_non_gene, shares
from ._text import open_text, unquote

_SEPARATORS = {"tab": "\t", "comma": ",", "space": " ", "\\t": "\t"}


def _first_rows(path: Path, sep: str, quotechar: str, n: int = 2) -> list[list[str]]:
    rows = []
    with open_text(path) as fh:
        if sep == "whitespace":
            for _ in range(n):
                line = fh.readline()
                if not line:
                    break
                rows.append(line.split())
        else:
            reader = csv.reader(fh, delimiter=sep, quotechar=quotechar)
            for row in reader:
                rows.append(row)
                if len(rows) == n:
                    break
    # a trailing separator leaves an empty last field: drop it
    return [r[:-1] if r and r[-1] == "" else r for r in rows]


def _read(
    path: Path,
    *,
    sep: str,
    quotechar: str,
    header: bool,
    gene_columns: int,
    genes_in_rows: bool,
    na_as_zero: bool,
    chunksize: int,
    cell_prefix: str | None,
) -> tuple[sp.csr_matrix, list[str], pd.DataFrame]:
    sep = _SEPARATORS.get(sep, sep)
    rows = _first_rows(path, sep, quotechar, 2 if header else 1)
    if not rows:
        raise ParseError(f"{path}: the file is empty.")
    n_fields = len(rows[-1])
    if header:
        head = rows[0]
        if len(rows) < 2:
            raise ParseError(f"{path}: a header but no data rows.")
        if len(head) == n_fields - gene_columns:
            columns = unquote(head)
        elif len(head) == n_fields:
            columns = unquote(head[gene_columns:])
        else:
            raise ParseError(
                f"{path}: the header has {len(head)} fields but data rows have {n_fields}; "
                f"expected {n_fields} or {n_fields - gene_columns} (check `sep`, now {sep!r})."
            )
    else:
        columns = [f"{cell_prefix or 'cell'}_{i + 1}" for i in range(n_fields - gene_columns)]

    reader = pd.read_csv(
        path,
        sep=r"\s+" if sep == "whitespace" else sep,
        header=None,
        skiprows=1 if header else 0,
        quotechar=quotechar,
        chunksize=chunksize,
        compression="infer" if path.suffix == ".gz" else _compression(path),
        dtype={i: str for i in range(gene_columns)},
        na_values=["NA", "NaN", "nan", ""],
        keep_default_na=False,
        low_memory=False,
    )
    blocks, ids = [], []
    for chunk in reader:
        if chunk.shape[1] > n_fields and chunk.iloc[:, n_fields:].isna().all().all():
            chunk = chunk.iloc[:, :n_fields]
        if chunk.shape[1] != n_fields:
            raise ParseError(
                f"{path}: rows with {chunk.shape[1]} fields, expected {n_fields}; "
                "the file is truncated or mixes separators."
            )
        ids.append(chunk.iloc[:, :gene_columns].astype(str))
        try:
            values = chunk.iloc[:, gene_columns:].to_numpy(dtype=np.float32)
        except ValueError as err:
            raise ParseError(f"{path}: non-numeric expression values ({err}).") from None
        nan = np.isnan(values)
        if nan.any():
            if not na_as_zero:
                raise InputDataError(
                    f"{path}: {int(nan.sum())} NA/NaN expression values. If the authors' NA "
                    "means 'not detected', set `na_as_zero: true` in the parser options; "
                    "otherwise the file is damaged."
                )
            values[nan] = 0.0
        blocks.append(sp.csr_matrix(values))
    if not blocks:
        raise ParseError(f"{path}: no data rows.")
    mat = sp.vstack(blocks, format="csr")
    id_frame = pd.concat(ids, ignore_index=True)
    for col in id_frame.columns:
        id_frame[col] = unquote(id_frame[col])
    if genes_in_rows:
        return mat.T.tocsr(), columns, id_frame
    return mat, columns, id_frame


def _compression(path: Path) -> str | None:
    with open(path, "rb") as fh:
        return "gzip" if fh.read(2) == b"\x1f\x8b" else None


def read_dense_matrix(
    files: dict[str, Path],
    *,
    sep: str = "\t",
    quotechar: str = '"',
    genes_in_rows: bool = True,
    header: bool = True,
    na_as_zero: bool = False,
    drop_genes_regex: str | None = None,
    drop_summary_rows: bool = True,
    chunksize: int = 2000,
) -> ad.AnnData:
    """Read a dense delimited matrix into AnnData (cells x genes, float32 CSR).

    Parameters
    ----------
    files
        ``{"matrix": path}``.
    sep
        Field separator: a character, ``"tab"``, ``"comma"``, ``"space"`` or
        ``"whitespace"`` (runs of blanks).
    quotechar
        Quote character around names (``"'"`` for GSE70630-style files).
    genes_in_rows
        True when rows are genes and columns cells (the usual published layout).
    header
        Whether the first line names the cells (or genes, if ``genes_in_rows`` is False).
    na_as_zero
        Read ``NA`` as 0 (only where the authors' NA means "not detected").
    drop_genes_regex
        Rows whose name matches are removed (e.g. ``^ERCC-`` spike-ins); the number
        removed is recorded in ``uns["parser"]``.
    drop_summary_rows
        Remove read-counter summary rows (HTSeq ``__no_feature``/``no_feature``,
        ``ambiguous``, ``alignment_not_unique``, ``too_low_aQual``, ``not_aligned``;
        STAR ``N_*``; see ``signatures/non_gene_rows.yaml``) by name; their names and
        median share of each cell's total are recorded in ``uns["parser"]``.
    chunksize
        Rows read at a time.
    """
    path = files["matrix"]
    mat, columns, ids = _read(
        path,
        sep=sep,
        quotechar=quotechar,
        header=header,
        gene_columns=1,
        genes_in_rows=genes_in_rows,
        na_as_zero=na_as_zero,
        chunksize=chunksize,
        cell_prefix=None,
    )
    row_names = ids.iloc[:, 0].tolist()
    cells, genes = (columns, row_names) if genes_in_rows else (row_names, columns)
    adata = ad.AnnData(
        X=mat,
        obs=pd.DataFrame(index=pd.Index(cells, name=None)),
        var=pd.DataFrame(index=pd.Index(genes, name=None)),
    )
    adata.uns["parser"] = {"name": "dense_matrix", "dropped_genes": 0}
    if drop_genes_regex:
        keep = ~adata.var_names.str.match(drop_genes_regex)
        adata.uns["parser"]["dropped_genes"] = int((~keep).sum())
        adata.uns["parser"]["dropped_genes_regex"] = drop_genes_regex
        adata = adata[:, keep].copy()
    if drop_summary_rows:
        mask = is_non_gene(adata.var_names)
        if mask.any():
            adata.uns["parser"]["dropped_summary_rows"] = [str(n) for n in adata.var_names[mask]]
            adata.uns["parser"]["summary_rows_share"] = shares(adata.X, mask)
            adata = adata[:, ~mask].copy()
    return adata


def read_ensembl_symbol_matrix(
    files: dict[str, Path],
    *,
    sep: str = "\t",
    cell_prefix: str = "cell",
    header: bool = False,
    chunksize: int = 2000,
) -> ad.AnnData:
    """Read a genes x cells matrix whose first two columns are Ensembl id and symbol.

    Yuan 2018 (GSE103224) publishes no header: cells are named ``{cell_prefix}_{i}``
    (1-based, in file order). Versions are stripped from Ensembl ids
    (``ENSG00000141510.16`` -> ``ENSG00000141510``) and kept in ``var["gene_ids"]``.
    """
    path = files["matrix"]
    mat, columns, ids = _read(
        path,
        sep=sep,
        quotechar='"',
        header=header,
        gene_columns=2,
        genes_in_rows=True,
        na_as_zero=False,
        chunksize=chunksize,
        cell_prefix=cell_prefix,
    )
    ensembl = [re.sub(r"\.\d+$", "", e) for e in ids.iloc[:, 0]]
    symbols = ids.iloc[:, 1].tolist()
    var = pd.DataFrame({"gene_ids": ensembl}, index=pd.Index(symbols, name=None))
    adata = ad.AnnData(X=mat, obs=pd.DataFrame(index=pd.Index(columns)), var=var)
    adata.uns["parser"] = {"name": "ensembl_symbol_matrix"}
    return adata
