"""Per-cell and per-gene metadata tables (SCP metadata, infercnv annotations, plain tables)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...errors import ParseError
from ._text import open_text, unquote


def read_table(
    files: dict[str, Path],
    *,
    sep: str = "\t",
    index_col: int | str = 0,
    header: int | None = 0,
    names: list[str] | None = None,
    quotechar: str = '"',
    skiprows: int = 0,
    index_format: str | None = None,
) -> pd.DataFrame:
    """Read a delimited table of per-cell metadata, indexed by cell id.

    ``index_col`` names the id column (a position, or a name; an empty header read by
    pandas is ``Unnamed: 0``, so position 0 is the robust choice). ``index_format``
    builds the id from several columns instead, e.g. ``"{Sample}:{Barcode}-1"`` (Wang
    2022's metadata names sample and barcode apart, the barcode without its ``-1``).
    """
    path = files["table"]
    with open_text(path) as fh:
        frame = pd.read_csv(
            fh,
            sep=sep,
            header=header,
            names=names,
            quotechar=quotechar,
            skiprows=skiprows,
            dtype=str,
            keep_default_na=False,
            na_values=["NA", ""],
        )
    if index_format is not None:
        try:
            ids = [index_format.format(**row) for row in frame.to_dict("records")]
        except KeyError as err:
            raise ParseError(
                f"{path}: index_format names column {err}; columns are {list(frame.columns)}."
            ) from None
        frame.index = pd.Index(ids, name=None)
        return frame
    if isinstance(index_col, int):
        index_col = frame.columns[index_col]
    if index_col not in frame.columns:
        raise ParseError(f"{path}: no column {index_col!r}; columns are {list(frame.columns)}.")
    frame.index = pd.Index(unquote(frame[index_col]), name=None)
    frame = frame.drop(columns=[index_col])
    return frame


def read_excel_table(
    files: dict[str, Path],
    *,
    sheet: int | str = 0,
    skiprows: int = 0,
    index_col: int | str = 0,
) -> pd.DataFrame:
    """Read per-cell metadata from an Excel sheet, indexed by cell id.

    GEO's ``GSE131928_single_cells_tumor_name_and_adult_or_peidatric.xlsx`` (Neftel
    2019) starts with 43 rows of description before the header (``Sample name``,
    ``tumour name``, ``adult/pediatric``, ``processed data file``): ``skiprows: 43``.
    Needs ``openpyxl`` (``pip install 'neurosig[excel]'``).
    """
    path = files["table"]
    try:
        import openpyxl  # noqa: F401  (pandas' Excel engine)
    except ModuleNotFoundError:
        raise ParseError(
            f"{path} is an Excel file and reading it needs openpyxl: pip install 'neurosig[excel]'"
        ) from None
    try:
        frame = pd.read_excel(path, sheet_name=sheet, skiprows=skiprows, dtype=str)
    except (ValueError, KeyError, OSError) as err:
        raise ParseError(f"{path}: not a readable Excel sheet ({err}).") from None
    frame = frame.dropna(how="all")
    if isinstance(index_col, int):
        index_col = frame.columns[index_col]
    if index_col not in frame.columns:
        raise ParseError(
            f"{path}: no column {index_col!r} after skipping {skiprows} rows; columns are "
            f"{list(frame.columns)}. Check skiprows."
        )
    frame.index = pd.Index(unquote(frame.pop(index_col)), name=None)
    return frame


def read_scp_metadata(files: dict[str, Path], *, sep: str = "\t") -> pd.DataFrame:
    """Read a Single Cell Portal metadata file.

    The first row names the columns (``NAME`` first); the second is the ``TYPE`` row
    (``group`` / ``numeric``), which is dropped after casting numeric columns.
    """
    path = files["table"]
    with open_text(path) as fh:
        frame = pd.read_csv(fh, sep=sep, dtype=str, keep_default_na=False, na_values=["NA", ""])
    if frame.columns[0].upper() != "NAME":
        raise ParseError(f"{path}: first column is {frame.columns[0]!r}, not NAME: not SCP metadata.")
    if frame.empty or str(frame.iloc[0, 0]).upper() != "TYPE":
        raise ParseError(
            f"{path}: the second row is not the Single Cell Portal TYPE row; "
            "use the 'table' parser for plain tables."
        )
    types = frame.iloc[0].str.lower()
    frame = frame.iloc[1:]
    for col, kind in types.items():
        if kind == "numeric":
            frame[col] = pd.to_numeric(frame[col], errors="raise")
    frame.index = pd.Index(frame.pop(frame.columns[0]).tolist(), name=None)
    return frame


def read_infercnv_annotations(files: dict[str, Path]) -> pd.DataFrame:
    """Read an infercnv annotation file: cell id and label, tab-separated, no header."""
    frame = read_table(files, header=None, names=["cell", "label"])
    return frame


def read_gene_positions(files: dict[str, Path]) -> pd.DataFrame:
    """Read an infercnv gene-order file: gene, chromosome, start, end (no header).

    Returns a DataFrame indexed by gene with ``chromosome``, ``start`` and ``end``
    (the columns infercnvpy expects in ``.var``). A gene listed twice keeps its first row.
    """
    path = files["table"]
    with open_text(path) as fh:
        frame = pd.read_csv(fh, sep="\t", header=None, dtype={0: str, 1: str})
    if frame.shape[1] != 4:
        raise ParseError(f"{path}: expected 4 columns (gene, chromosome, start, end), got {frame.shape[1]}.")
    frame.columns = ["gene", "chromosome", "start", "end"]
    frame = frame.drop_duplicates("gene").set_index("gene").rename_axis(None)
    frame["start"] = frame["start"].astype("int64")
    frame["end"] = frame["end"].astype("int64")
    return frame
