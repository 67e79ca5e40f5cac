"""GEO *_RAW.tar of per-sample matrices (Yuan 2018 and Wang 2022 layouts)."""

from __future__ import annotations

import gzip
import io
import tarfile

import numpy as np
import pytest

from neurosig.datasets.parsers import run_parser
from neurosig.errors import UnsafeArchiveError


def _add(tar, name, text):
    data = gzip.compress(text.encode())
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_yuan_raw_tar(tmp_path):
    path = tmp_path / "GSE103224_RAW.tar"
    with tarfile.open(path, "w") as tar:
        _add(tar, "GSM2758471_PJ016.filtered.matrix.txt.gz", "ENSG00000141510.1\tTP53\t1\t0\n")
        _add(
            tar,
            "GSM2940098_PJ048.filtered.matrix.txt.gz",
            "ENSG00000141510.1\tTP53\t2\t0\t7\nENSG00000075624.2\tACTB\t1\t1\t1\n",
        )
    a = run_parser(
        "tar_of_matrices",
        {"archive": path},
        {
            "member_regex": r"^GSM\d+_(PJ\d+)\.filtered\.matrix\.txt\.gz$",
            "parser": "ensembl_symbol_matrix",
        },
    )
    assert a.n_obs == 5 and set(a.var_names) == {"TP53", "ACTB"}
    assert a.obs["sample_from_file"].value_counts().to_dict() == {"PJ048": 3, "PJ016": 2}
    # genes absent from one sample are zeros there (outer join), never dropped
    assert a[a.obs["sample_from_file"] == "PJ016", "ACTB"].X.sum() == 0
    np.testing.assert_array_equal(a[a.obs_names == "PJ048:cell_3", "TP53"].X.toarray(), [[7]])


def test_wang_triplets_in_raw_tar(tmp_path):
    path = tmp_path / "GSE174554_RAW.tar"
    with tarfile.open(path, "w") as tar:
        for gsm, sf in (("GSM5319529", "SF8963"), ("GSM5319530", "SF9000")):
            _add(
                tar,
                f"{gsm}_{sf}_matrix.mtx.gz",
                "%%MatrixMarket matrix coordinate integer\n1 2 2\n1 1 4\n1 2 1\n",
            )
            _add(tar, f"{gsm}_{sf}_features.tsv.gz", "ENSG00000141510\tTP53\tGene Expression\n")
            _add(tar, f"{gsm}_{sf}_barcodes.tsv.gz", "AAAC-1\nAAAG-1\n")
    a = run_parser(
        "tar_of_matrices",
        {"archive": path},
        {
            "member_regex": r"^(GSM\d+_SF\d+)_(matrix\.mtx|barcodes\.tsv|features\.tsv)\.gz$",
            "triplet": True,
            "parser": "tenx_mtx",
        },
    )
    assert a.n_obs == 4 and list(a.obs_names[:2]) == [
        "GSM5319529_SF8963:AAAC-1",
        "GSM5319529_SF8963:AAAG-1",
    ]
    assert a.X.sum() == 10


def test_unsafe_member_refuses_whole_archive(tmp_path):
    path = tmp_path / "RAW.tar"
    with tarfile.open(path, "w") as tar:
        _add(tar, "../GSM1_PJ001.filtered.matrix.txt.gz", "ENSG1\tA\t1\n")
    with pytest.raises(UnsafeArchiveError):
        run_parser(
            "tar_of_matrices",
            {"archive": path},
            {"member_regex": r"(PJ\d+)", "parser": "ensembl_symbol_matrix"},
        )


def _triplet(tar, prefix, barcodes, entries):
    _add(
        tar,
        f"{prefix}_matrix.mtx.gz",
        f"%%MatrixMarket matrix coordinate integer general\n2 {len(barcodes)} {len(entries)}\n"
        + "".join(e + "\n" for e in entries),
    )
    _add(
        tar,
        f"{prefix}_features.tsv.gz",
        "ENSG00000141510\tTP53\tGene Expression\nENSG00000075624\tACTB\tGene Expression\n",
    )
    _add(tar, f"{prefix}_barcodes.tsv.gz", "".join(b + "\n" for b in barcodes))


def test_resequenced_library_adds_counts_independent_capture_kept(tmp_path):
    """Wang 2022 re-runs (SF####v2, SF####_batch2): a library sharing >= 80% of its
    barcodes with the first run of the same SF number holds the same cells."""
    path = tmp_path / "GSE174554_RAW.tar"
    with tarfile.open(path, "w") as tar:
        _triplet(tar, "GSM1_SF100", ["AAAC-1", "AAAG-1"], ["1 1 4", "2 2 1"])
        _triplet(tar, "GSM2_SF100v2", ["AAAC-1", "AAAG-1"], ["1 1 6", "1 2 2"])  # same cells
        _triplet(tar, "GSM3_SF200", ["CCCA-1", "CCCG-1"], ["1 1 1"])
        _triplet(tar, "GSM3_SF200_batch2", ["TTTA-1", "TTTG-1"], ["2 2 5"])  # other cells
    a = run_parser(
        "tar_of_matrices",
        {"archive": path},
        {
            "member_regex": r"^(GSM\d+_SF\d+(?:v\d+|_batch\d+)?)_(matrix\.mtx|barcodes\.tsv|features\.tsv)"
            r"\.gz$",
            "triplet": True,
            "resequenced": {"key": r"_(SF\d+)(?:v\d+|_batch\d+)?$", "min_overlap": 0.8},
        },
    )
    assert a.n_obs == 6  # 2 (SF100, re-run folded in) + 2 + 2
    decisions = a.uns["parser"]["resequenced"]
    assert decisions["GSM2_SF100v2"]["action"].startswith("counts added")
    assert decisions["GSM3_SF200_batch2"]["barcode_overlap"] == 0.0
    x = a[["GSM1_SF100:AAAC-1", "GSM1_SF100:AAAG-1"], ["TP53", "ACTB"]].X.toarray()
    np.testing.assert_array_equal(x, [[4 + 6, 0], [2, 1]])
