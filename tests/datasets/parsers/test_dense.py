"""Dense matrices: real mirrored bytes and fixtures in the exact published layouts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurosig.datasets.parsers import run_parser
from neurosig.errors import InputDataError, ParseError

from ...conftest import needs_mirror, write_gz


@needs_mirror
def test_tirosh_infercnv_matrix_real_bytes(mirror):
    path = (
        mirror / "tirosh2016_oligodendroglioma" / "oligodendroglioma_expression_downsampled.counts.matrix.gz"
    )
    a = run_parser("dense_matrix", {"matrix": path}, {"sep": "\t"})
    assert a.shape == (184, 10338)  # header lists cells only (one field fewer than rows)
    assert a.obs_names[0] == "MGH54_P16_F12" and a.var_names[0] == "A2M"
    ref = pd.read_csv(path, sep="\t", index_col=0)  # pandas reads this layout natively
    np.testing.assert_allclose(a.X.toarray(), ref.T.to_numpy(), rtol=1e-6)
    sums = np.asarray(a.X.sum(1)).ravel()
    assert 75_000 < sums.min() and sums.max() < 130_000  # TPM-scale, as the mirror says


@needs_mirror
def test_darmanis2015_counts_real_bytes(mirror):
    """The mirrored GSE67835 matrix ends with HTSeq's no_feature, ambiguous and
    alignment_not_unique rows: dropped by name, their share of each cell reported."""
    path = mirror / "darmanis2015_brain" / "data.csv.gz"
    a = run_parser("dense_matrix", {"matrix": path})
    assert a.shape == (466, 22085)
    assert a.obs_names[0] == "GSM1657871"
    assert np.all(a.X.data == np.round(a.X.data))
    report = a.uns["parser"]
    assert report["dropped_summary_rows"] == ["no_feature", "ambiguous", "alignment_not_unique"]
    # 36-96% of each cell's total, median 77%, as the issue measured
    assert 0.76 < report["summary_rows_share"]["median_share"] < 0.77
    assert 0.95 < report["summary_rows_share"]["max_share"] < 0.96
    ref = pd.read_csv(path, sep="\t", index_col=0)  # pandas reads the file natively
    ref = ref.drop(index=["no_feature", "ambiguous", "alignment_not_unique"])
    np.testing.assert_array_equal(np.asarray(a.X.sum(axis=1)).ravel(), ref.sum(axis=0).to_numpy())
    kept = run_parser("dense_matrix", {"matrix": path}, {"drop_summary_rows": False})
    assert kept.shape == (466, 22088) and "no_feature" in kept.var_names


def test_gse70630_layout_single_quotes_and_na(tmp_path):
    """GSE70630/GSE89567: tab-separated, genes in single quotes, NA values."""
    text = "\t'MGH36_P1_A01'\t'MGH36_P1_A02'\n'A2M'\t1.5\tNA\n'HN1'\t0\t3.25\n"
    path = write_gz(tmp_path / "GSE70630_OG_processed_data_v2.txt.gz", text)
    with pytest.raises(InputDataError, match="na_as_zero"):
        run_parser("dense_matrix", {"matrix": path}, {"quotechar": "'"})
    a = run_parser("dense_matrix", {"matrix": path}, {"quotechar": "'", "na_as_zero": True})
    assert list(a.obs_names) == ["MGH36_P1_A01", "MGH36_P1_A02"]
    assert list(a.var_names) == ["A2M", "HN1"]
    np.testing.assert_array_equal(a.X.toarray(), [[1.5, 0], [0, 3.25]])


def test_darmanis2017_layout_space_delimited_quoted_with_ercc(tmp_path):
    """GSE84465_GBM_All_data.csv.gz: space-separated, double quotes, ERCC rows."""
    text = '"1001000173.G8" "1001000173.D4"\n"A1BG" 0 3\n"ERCC-00002" 10 20\n"GFAP" 5 0\n'
    path = write_gz(tmp_path / "GSE84465_GBM_All_data.csv.gz", text)
    a = run_parser("dense_matrix", {"matrix": path}, {"sep": " ", "drop_genes_regex": "^ERCC-"})
    assert list(a.obs_names) == ["1001000173.G8", "1001000173.D4"]
    assert list(a.var_names) == ["A1BG", "GFAP"]
    assert a.uns["parser"]["dropped_genes"] == 1
    np.testing.assert_array_equal(a.X.toarray(), [[0, 5], [3, 0]])


def test_named_gene_column_layout(tmp_path):
    """Neftel SS2 / Filbin: header starts with the gene column's name."""
    path = tmp_path / "m.tsv"
    path.write_text("GENE\tc1\tc2\nSOX2\t1\t2\nOLIG2\t0\t4\n")
    a = run_parser("dense_matrix", {"matrix": path}, {"chunksize": 1})
    assert list(a.obs_names) == ["c1", "c2"] and list(a.var_names) == ["SOX2", "OLIG2"]
    np.testing.assert_array_equal(a.X.toarray(), [[1, 0], [2, 4]])


def test_yuan_headerless_ensembl_symbol_layout(tmp_path):
    text = "ENSG00000141510.16\tTP53\t0\t2\t1\nENSG00000075624.17\tACTB\t5\t0\t9\n"
    path = write_gz(tmp_path / "GSM2758471_PJ016.filtered.matrix.txt.gz", text)
    a = run_parser("ensembl_symbol_matrix", {"matrix": path}, {"cell_prefix": "PJ016"})
    assert list(a.obs_names) == ["PJ016_1", "PJ016_2", "PJ016_3"]
    assert list(a.var_names) == ["TP53", "ACTB"]
    assert list(a.var["gene_ids"]) == ["ENSG00000141510", "ENSG00000075624"]
    np.testing.assert_array_equal(a.X.toarray(), [[0, 5], [2, 0], [1, 9]])


def test_corrupt_gzip_is_a_clear_error(tmp_path):
    path = write_gz(tmp_path / "m.tsv.gz", "g\tc1\nA\t1\n" * 5000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError, match="not a valid gzip stream.*delete it and fetch it again"):
        run_parser("dense_matrix", {"matrix": path})


def test_ragged_rows_are_refused(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text("c1\tc2\nA\t1\t2\nB\t1\n")
    with pytest.raises((ParseError, InputDataError), match="damaged|truncated"):
        run_parser("dense_matrix", {"matrix": path})
