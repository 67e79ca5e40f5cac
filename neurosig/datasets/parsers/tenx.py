"""10x Genomics Cell Ranger outputs: Market Exchange triplets and HDF5 matrices.

The MatrixMarket reader skips every ``%`` line instead of trusting the banner, so the
malformed header of ``GSM5319529_SF8963_matrix.mtx.gz`` (Wang 2022) still reads; the
size line and entry count are checked against the data. Some Wang 2022 libraries also
have damaged data lines (third-party code re-parses them, keeping lines with three
numbers); with ``on_bad_lines="skip"`` such lines (not three numbers, or indices
outside the matrix) are skipped, and how many, with examples, is reported in
``uns["parser"]`` instead of failing the whole dataset.
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...errors import ParseError
from ._text import open_text


def _read_mtx(path: Path, on_bad_lines: str = "error") -> tuple[sp.coo_matrix, dict]:
    if on_bad_lines == "skip":  # the fast strict reader first; line by line only if damaged
        try:
            return _read_mtx(path, "error")
        except ParseError:
            pass
    with open_text(path) as fh:
        line = fh.readline()
        skipped = 0
        while line.startswith("%") or not line.strip():
            line = fh.readline()
            skipped += 1
            if not line:
                raise ParseError(f"{path}: no size line after the MatrixMarket comments.")
        try:
            n_rows, n_cols, nnz = (int(x) for x in line.split())
        except ValueError:
            raise ParseError(f"{path}: size line {line.strip()!r} is not 'rows cols entries'.") from None
        if on_bad_lines == "skip":
            raw = pd.read_csv(
                fh,
                sep=r"\s+",
                header=None,
                names=["r", "c", "v"],
                dtype=str,
                on_bad_lines="skip",
            )
        else:
            try:
                raw = pd.read_csv(
                    fh,
                    sep=r"\s+",
                    header=None,
                    names=["r", "c", "v"],
                    dtype={"r": np.int64, "c": np.int64, "v": np.float32},
                )
            except (ValueError, pd.errors.ParserError) as err:
                raise ParseError(
                    f"{path}: damaged data lines ({err}). The manifest option on_bad_lines: skip "
                    "loads the sound entries and reports the skipped lines."
                ) from None
    report: dict = {"declared_entries": nnz}
    if on_bad_lines == "skip":
        num = raw.apply(pd.to_numeric, errors="coerce")
        ok = num.notna().all(axis=1)
        ok &= (num["r"] >= 1) & (num["r"] <= n_rows) & (num["c"] >= 1) & (num["c"] <= n_cols)
        bad = raw[~ok]
        entries = num[ok].astype({"r": np.int64, "c": np.int64, "v": np.float32})
        report.update(
            read_entries=int(len(entries)),
            skipped_lines=int(len(bad)) + max(nnz - len(raw), 0),
            examples=[" ".join(str(x) for x in row if pd.notna(x)) for row in bad.head(3).to_numpy()],
        )
    else:
        entries = raw
        if len(entries) != nnz:
            raise ParseError(
                f"{path}: the size line announces {nnz} entries but {len(entries)} were read; "
                "the file is truncated or has damaged lines (the manifest option "
                "on_bad_lines: skip loads what is sound and reports the rest)."
            )
        if nnz and (
            entries["r"].max() > n_rows or entries["c"].max() > n_cols or entries[["r", "c"]].min().min() < 1
        ):
            raise ParseError(f"{path}: entry indices outside the {n_rows} x {n_cols} matrix.")
        report.update(read_entries=int(len(entries)), skipped_lines=0)
    mat = sp.coo_matrix(
        (entries["v"].to_numpy(), (entries["r"].to_numpy() - 1, entries["c"].to_numpy() - 1)),
        shape=(n_rows, n_cols),
    )
    return mat, report


def read_tenx_mtx(
    files: dict[str, Path], *, gex_only: bool = True, on_bad_lines: str = "error"
) -> ad.AnnData:
    """Read a 10x triplet: ``matrix`` (.mtx[.gz]), ``features`` (features.tsv or genes.tsv), ``barcodes``.

    ``genes.tsv`` (Cell Ranger 2) has two columns, gene id and symbol; ``features.tsv``
    (Cell Ranger 3+) adds the feature type, and with ``gex_only`` only
    ``Gene Expression`` rows are kept. Symbols become ``var_names``, ids ``var["gene_ids"]``.
    ``on_bad_lines="skip"`` loads the sound entries of a damaged matrix and reports the
    skipped lines in ``uns["parser"]`` (``"error"``, the default, refuses the file).
    """
    if on_bad_lines not in ("error", "skip"):
        raise ParseError(f"on_bad_lines must be 'error' or 'skip', not {on_bad_lines!r}.")
    coo, report = _read_mtx(files["matrix"], on_bad_lines)
    mat = coo.T.tocsr()  # cells x genes
    with open_text(files["features"]) as fh:
        feats = pd.read_csv(fh, sep="\t", header=None, dtype=str)
    with open_text(files["barcodes"]) as fh:
        barcodes = pd.read_csv(fh, sep="\t", header=None, dtype=str)[0].tolist()
    if feats.shape[0] != mat.shape[1]:
        raise ParseError(
            f"{files['features']}: {feats.shape[0]} features but the matrix has {mat.shape[1]} rows."
        )
    if len(barcodes) != mat.shape[0]:
        raise ParseError(
            f"{files['barcodes']}: {len(barcodes)} barcodes but the matrix has {mat.shape[0]} columns."
        )
    if feats.shape[1] == 1:
        feats[1] = feats[0]
    var = pd.DataFrame({"gene_ids": feats[0].to_numpy()}, index=pd.Index(feats[1].tolist()))
    if feats.shape[1] >= 3:
        var["feature_types"] = feats[2].to_numpy()
    adata = ad.AnnData(X=mat.astype(np.float32), obs=pd.DataFrame(index=pd.Index(barcodes)), var=var)
    if gex_only and "feature_types" in adata.var:
        adata = adata[:, adata.var["feature_types"] == "Gene Expression"].copy()
    adata.uns["parser"] = {"name": "tenx_mtx", **report}
    return adata


def read_tenx_h5(files: dict[str, Path], *, gex_only: bool = True, genome: str | None = None) -> ad.AnnData:
    """Read a Cell Ranger ``filtered_feature_bc_matrix.h5`` (v3) or v2 ``<genome>`` group file."""
    path = files["h5"]
    try:
        fh = h5py.File(path, "r")
    except OSError as err:
        raise ParseError(f"{path}: not a readable HDF5 file ({err}); it may be truncated.") from None
    with fh:
        if "matrix" in fh:
            grp = fh["matrix"]
            feats = grp["features"]
            ids = feats["id"][:].astype(str)
            names = feats["name"][:].astype(str)
            types = feats["feature_type"][:].astype(str) if "feature_type" in feats else None
        else:
            groups = list(fh.keys())
            name = genome or (groups[0] if len(groups) == 1 else None)
            if name is None or name not in fh:
                raise ParseError(f"{path}: several genomes {groups}; pass the `genome` option.")
            grp = fh[name]
            ids, names, types = grp["genes"][:].astype(str), grp["gene_names"][:].astype(str), None
        shape = tuple(int(x) for x in grp["shape"][:])
        mat = sp.csc_matrix(
            (grp["data"][:].astype(np.float32), grp["indices"][:], grp["indptr"][:]), shape=shape
        )
        barcodes = grp["barcodes"][:].astype(str)
    var = pd.DataFrame({"gene_ids": ids}, index=pd.Index(names))
    if types is not None:
        var["feature_types"] = types
    adata = ad.AnnData(X=mat.T.tocsr(), obs=pd.DataFrame(index=pd.Index(barcodes)), var=var)
    if gex_only and types is not None:
        adata = adata[:, adata.var["feature_types"] == "Gene Expression"].copy()
    return adata
