"""GlioVis bulk cohorts: an R list (``.Rds``) of ``expr``, ``pData`` and more, read with ``rdata``.

Layout of the files served by the GlioVis portal (Bowman et al. 2017; seen in all 18
cohorts of ``shiny_GlioVis/data/datasets`` at commit eae2ce78, and POLA.Rds at de61554f):

- ``expr``: a data frame, one row per sample (row names = sample ids), whose first
  columns repeat clinical fields (``Sample``, ``Histology``, ``Grade``, ``Recurrence``,
  ``Subtype``, ``CIMP_status``, ``survival``, ``status``) before one column per gene;
  genes are symbols made syntactic by R (``HLA.A`` for HLA-A, ``A1BG.AS1`` for
  A1BG-AS1), log2 intensities (about 1.3-15).
- ``pData``: the clinical table, one row per sample, ``Sample`` holding the sample id;
  its row names are not always the sample id (POLA: 1, 2, 3...; Gleize: CEL file names)
  and its rows are not always in ``expr``'s order (Bender, Ducray, Schwartzentruber).
  Ducray's ``pData`` lacks 4 of the 52 samples in ``expr`` and lists 4 that are not in it.

The parser keeps the expression of the gene columns (columns that hold numbers and are
not clinical fields), orients it by gene symbols (samples x genes or genes x samples is
detected from which axis holds symbols, never assumed), and joins the clinical table on
the sample id. Samples missing from ``pData`` keep the clinical fields that ``expr``
repeats and are counted in ``.uns["parser"]``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from ...errors import InputDataError, ParseError
from ..genes import gene_tables

#: Share of names that must be known gene symbols (after R's '.' -> '-') for an axis to be genes.
MIN_SYMBOL_FRACTION = 0.5


def _read_rds(path: Path) -> object:
    import rdata

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Unknown file type: assumed RDS", missing R classes
            return rdata.conversion.convert(rdata.parser.parse_file(path))
    except Exception as err:  # rdata raises assorted built-in errors on bad input
        raise ParseError(f"{path}: not a readable R data file ({type(err).__name__}: {err}).") from None


def symbol_fraction(names) -> float:
    """Share of ``names`` that are gene symbols or aliases, reading R's ``HLA.A`` as ``HLA-A``."""
    tables = gene_tables()
    names = [str(n) for n in names]
    if not names:
        return 0.0
    hits = 0
    for n in names:
        for cand in (n, n.replace(".", "-")):
            if cand in tables.symbols or cand in tables.aliases:
                hits += 1
                break
    return hits / len(names)


def orient_by_symbols(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """Samples x genes, whichever way ``table`` came: the axis whose names are symbols is genes.

    Raises when neither axis, or both, hold gene symbols (the orientation is never guessed).
    """
    sample = lambda idx: list(idx[:: max(1, len(idx) // 2000)])  # noqa: E731
    cols, rows = symbol_fraction(sample(table.columns)), symbol_fraction(sample(table.index))
    if cols >= MIN_SYMBOL_FRACTION and rows < MIN_SYMBOL_FRACTION:
        return table
    if rows >= MIN_SYMBOL_FRACTION and cols < MIN_SYMBOL_FRACTION:
        return table.T
    raise InputDataError(
        f"{source}: cannot tell genes from samples: {cols:.0%} of the column names and "
        f"{rows:.0%} of the row names are gene symbols. One axis must hold human gene "
        "symbols (e.g. CD274, HLA-A) and the other sample ids; rename the genes to symbols."
    )


def read_gliovis_rds(
    files: dict[str, Path], *, expr: str = "expr", clinical: str = "pData", sample_column: str = "Sample"
) -> ad.AnnData:
    """Read one GlioVis cohort into AnnData (samples x genes, log2 values as published).

    Parameters
    ----------
    files
        ``{"rds": path}``.
    expr, clinical
        Names of the expression and clinical elements of the R list.
    sample_column
        Column of the clinical table holding the sample id.

    Returns
    -------
    AnnData: ``X`` the expression as published (float32), ``.obs`` the clinical table,
    ``var_names`` the gene names as written in the file (``HLA.A``: see
    :func:`neurosig.datasets.bulk.harmonise_bulk`), ``.uns["parser"]`` a report.
    """
    path = files["rds"]
    obj = _read_rds(path)
    if not isinstance(obj, dict) or expr not in obj:
        kind = list(obj) if isinstance(obj, dict) else type(obj).__name__
        raise ParseError(f"{path}: not a GlioVis cohort (an R list with {expr!r}); it holds {kind}.")
    table = obj[expr]
    if not isinstance(table, pd.DataFrame):
        raise ParseError(f"{path}: {expr!r} is a {type(table).__name__}, not a data frame.")
    pdata = obj.get(clinical)
    pdata = pdata.copy() if isinstance(pdata, pd.DataFrame) else pd.DataFrame()
    clinical_cols = set(map(str, pdata.columns))
    table.columns = [str(c) for c in table.columns]
    is_float = [pd.api.types.is_float_dtype(t) for t in table.dtypes]
    numeric = [c for c, f in zip(table.columns, is_float, strict=True) if f and c not in clinical_cols]
    kept = set(numeric)
    repeated = [c for c in table.columns if c not in kept]
    values = table[numeric]
    if symbol_fraction(values.index[:2000]) >= MIN_SYMBOL_FRACTION:  # genes in rows: no clinical block
        values, repeated = table.select_dtypes("number"), []
    values = orient_by_symbols(values, str(path))
    if repeated and values.index.equals(table.index):
        block = table[repeated]
    else:
        block = pd.DataFrame(index=values.index)
    ids = pd.Index(values.index.astype(str))
    if ids.has_duplicates:
        dups = ids[ids.duplicated()].unique()
        raise InputDataError(
            f"{path}: {len(dups)} sample ids appear twice in {expr!r} (e.g. {', '.join(dups[:3])}); "
            "each sample must be one row. Remove the duplicated profiles (or give them distinct "
            "ids) before loading."
        )
    if not pdata.empty:
        if sample_column not in pdata:
            raise ParseError(
                f"{path}: the clinical table {clinical!r} has no {sample_column!r} column "
                f"(columns: {list(pdata.columns)[:10]})."
            )
        pdata.index = pd.Index(pdata[sample_column].astype(str))
        if pdata.index.has_duplicates:
            dups = pdata.index[pdata.index.duplicated()].unique()
            raise InputDataError(
                f"{path}: {len(dups)} sample ids appear twice in {clinical!r} (e.g. "
                f"{', '.join(dups[:3])}); the clinical data are ambiguous. Keep one row per sample."
            )
    in_clinical = ids.isin(pdata.index)
    obs = pdata.reindex(ids)
    from_expr = [c for c in block.columns if c in obs.columns]
    if (~in_clinical).any() and from_expr:
        fill = block.loc[values.index[~in_clinical], from_expr]
        fill.index = ids[~in_clinical]
        for c in from_expr:
            obs[c] = obs[c].astype(object)
            obs.loc[fill.index, c] = fill[c].astype(object).to_numpy()
    obs.index = ids
    obs.index.name = None
    if sample_column in obs:
        obs[sample_column] = ids
    mat = values.to_numpy(dtype=np.float32)
    out = ad.AnnData(X=mat, obs=obs, var=pd.DataFrame(index=pd.Index(values.columns.astype(str))))
    out.uns["parser"] = {
        "format": "gliovis_rds",
        "cohort": str(np.asarray(obj.get("dataset", [""]))[0]) if obj.get("dataset") is not None else "",
        "samples": int(out.n_obs),
        "genes": int(out.n_vars),
        "clinical_columns_repeated_in_expr": repeated,
        "samples_without_clinical_row": [str(s) for s in ids[~in_clinical]],
        "clinical_rows_without_expression": [str(s) for s in pdata.index[~pdata.index.isin(ids)]],
    }
    return out
