"""10x triplets and h5 on fixtures in Cell Ranger's exact layouts, checked against scanpy."""

from __future__ import annotations

import gzip

import h5py
import numpy as np
import pytest
import scanpy as sc
import scipy.sparse as sp

from neurosig.datasets.parsers import run_parser
from neurosig.errors import ParseError

# genes x cells counts: 3 genes, 4 cells
DENSE = np.array([[0, 2, 0, 1], [5, 0, 0, 0], [1, 1, 3, 0]], dtype=np.float32)
IDS = ["ENSG00000141510", "ENSG00000075624", "ENSG00000111640"]
NAMES = ["TP53", "ACTB", "GAPDH"]
BARCODES = ["AAACCTGA-1", "AAACCTGC-1", "AAACGGGA-1", "AAAGATGC-1"]


def _mtx_text(banner: str = "%%MatrixMarket matrix coordinate integer general\n") -> str:
    r, c = np.nonzero(DENSE)
    lines = [f"{i + 1} {j + 1} {int(DENSE[i, j])}" for i, j in zip(r, c, strict=True)]
    return (
        banner + f"%metadata_json\n{DENSE.shape[0]} {DENSE.shape[1]} {len(lines)}\n" + "\n".join(lines) + "\n"
    )


def _write(folder, v3: bool, banner: str | None = None):
    folder.mkdir()
    gz = (lambda p, t: gzip.open(p, "wt").write(t)) if v3 else (lambda p, t: open(p, "w").write(t))
    suffix = ".gz" if v3 else ""
    gz(folder / f"matrix.mtx{suffix}", _mtx_text(banner) if banner is not None else _mtx_text())
    if v3:
        gz(
            folder / "features.tsv.gz",
            "".join(f"{i}\t{n}\tGene Expression\n" for i, n in zip(IDS, NAMES, strict=True)),
        )
    else:
        gz(folder / "genes.tsv", "".join(f"{i}\t{n}\n" for i, n in zip(IDS, NAMES, strict=True)))
    gz(folder / f"barcodes.tsv{suffix}", "".join(f"{b}\n" for b in BARCODES))
    return {
        "matrix": folder / f"matrix.mtx{suffix}",
        "features": folder / ("features.tsv.gz" if v3 else "genes.tsv"),
        "barcodes": folder / f"barcodes.tsv{suffix}",
    }


@pytest.mark.parametrize("v3", [False, True], ids=["cellranger2-genes.tsv", "cellranger3-features.tsv"])
def test_mtx_triplet_matches_scanpy(tmp_path, v3):
    files = _write(tmp_path / "m", v3)
    a = run_parser("tenx_mtx", files)
    ref = sc.read_10x_mtx(tmp_path / "m", var_names="gene_symbols")
    assert list(a.obs_names) == list(ref.obs_names) == BARCODES
    assert list(a.var_names) == list(ref.var_names) == NAMES
    assert list(a.var["gene_ids"]) == IDS
    np.testing.assert_array_equal(a.X.toarray(), ref.X.toarray())
    np.testing.assert_array_equal(a.X.toarray(), DENSE.T)


def test_malformed_matrixmarket_header_still_reads(tmp_path):
    """GSM5319529_SF8963_matrix.mtx.gz (Wang 2022) has a broken banner line."""
    files = _write(tmp_path / "m", True, banner="%%MatrixMarket matrix coordinate integer\n%%\n")
    np.testing.assert_array_equal(run_parser("tenx_mtx", files).X.toarray(), DENSE.T)


def test_truncated_mtx(tmp_path):
    files = _write(tmp_path / "m", False)
    text = files["matrix"].read_text().splitlines()
    files["matrix"].write_text("\n".join(text[:-2]) + "\n")
    with pytest.raises(ParseError, match="truncated"):
        run_parser("tenx_mtx", files)


def test_h5_v3_matches_scanpy(tmp_path):
    path = tmp_path / "filtered_feature_bc_matrix.h5"
    csc = sp.csc_matrix(DENSE)
    with h5py.File(path, "w") as fh:
        g = fh.create_group("matrix")
        g["data"], g["indices"], g["indptr"] = csc.data.astype(np.int32), csc.indices, csc.indptr
        g["shape"] = np.array(DENSE.shape, dtype=np.int32)
        g["barcodes"] = np.array(BARCODES, dtype="S")
        f = g.create_group("features")
        f["id"], f["name"] = np.array(IDS, dtype="S"), np.array(NAMES, dtype="S")
        f["feature_type"] = np.array(["Gene Expression"] * 3, dtype="S")
        f["genome"] = np.array(["GRCh38"] * 3, dtype="S")
        f["_all_tag_keys"] = np.array([b"genome"])
    a = run_parser("tenx_h5", {"h5": path})
    ref = sc.read_10x_h5(path)
    assert list(a.var_names) == list(ref.var_names) == NAMES
    np.testing.assert_array_equal(a.X.toarray(), ref.X.toarray())
    assert list(a.obs_names) == BARCODES


def test_damaged_data_lines_refused_or_skipped_and_reported(tmp_path):
    """Some Wang 2022 matrices have damaged data lines; third-party code keeps the lines
    with three numbers. By default the file is refused; with on_bad_lines=skip the sound
    entries load (equal to scanpy on the repaired file) and the skipped lines are reported."""
    files = _write(tmp_path / "m", True)
    lines = gzip.open(files["matrix"], "rt").read().splitlines()
    damaged = lines[:4] + ["2 x1 7", "3"] + lines[4:]
    with gzip.open(files["matrix"], "wt") as fh:
        fh.write("\n".join(damaged) + "\n")
    with pytest.raises(ParseError, match="on_bad_lines: skip"):
        run_parser("tenx_mtx", files)
    a = run_parser("tenx_mtx", files, {"on_bad_lines": "skip"})
    np.testing.assert_array_equal(a.X.toarray(), DENSE.T)
    report = a.uns["parser"]
    assert report["skipped_lines"] == 2 and report["read_entries"] == int((DENSE > 0).sum())
    assert report["examples"][0] == "2 x1 7"
