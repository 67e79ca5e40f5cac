"""GEO series matrix files: per-sample (here per-cell) metadata from ``!Sample_`` rows.

``!Sample_characteristics_ch1`` rows hold ``key: value`` pairs; each becomes a column
named by its key. Repeated rows such as ``!Sample_description`` become
``description_1``, ``description_2``, ... Darmanis 2017 (GSE84465) keeps the cell id
(``plateID.well``) in the second description row.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pandas as pd

from ...errors import ParseError
from ._text import open_text


def read_geo_series_matrix(files: dict[str, Path], *, cell_id: str = "geo_accession") -> pd.DataFrame:
    """Read the sample table of a GEO series matrix.

    Parameters
    ----------
    files
        ``{"series_matrix": path}`` (``*_series_matrix.txt.gz``).
    cell_id
        Column to index by: ``geo_accession``, ``title``, ``description_2``, or a
        characteristics key.
    """
    path = files["series_matrix"]
    columns: dict[str, list[str]] = {}
    seen: dict[str, int] = defaultdict(int)
    with open_text(path) as fh:
        for row in csv.reader(fh, delimiter="\t", quotechar='"'):
            if not row:
                continue
            tag = row[0]
            if tag.startswith("!series_matrix_table_begin"):
                break
            if not tag.startswith("!Sample_"):
                continue
            field = tag[len("!Sample_") :]
            values = [v.strip() for v in row[1:]]
            if field.startswith("characteristics"):
                keys = {v.split(":", 1)[0].strip() for v in values if ":" in v}
                if len(keys) != 1:
                    raise ParseError(
                        f"{path}: a characteristics row mixes keys {sorted(keys)[:5]}; "
                        "expected one 'key: value' per row."
                    )
                key = keys.pop()
                name = key if key not in columns else f"{key}_{seen[key] + 1}"
                seen[key] += 1
                columns[name] = [v.split(":", 1)[1].strip() if ":" in v else "" for v in values]
            else:
                seen[field] += 1
                n = seen[field]
                if n == 1:
                    columns[field] = values
                else:
                    if n == 2:
                        columns[f"{field}_1"] = columns.pop(field)
                    columns[f"{field}_{n}"] = values
    if not columns:
        raise ParseError(f"{path}: no !Sample_ rows; is this a GEO series matrix file?")
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1:
        raise ParseError(f"{path}: !Sample_ rows have different lengths {sorted(lengths)}.")
    frame = pd.DataFrame(columns)
    if cell_id not in frame.columns:
        raise ParseError(
            f"{path}: no column {cell_id!r} to use as cell id; available: {list(frame.columns)}."
        )
    return frame.set_index(cell_id, drop=False).rename_axis(None)
