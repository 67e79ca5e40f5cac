"""Metadata tables on the real mirrored files."""

from __future__ import annotations

import pytest

from neurosig.datasets.parsers import run_parser
from neurosig.errors import ParseError

from ...conftest import needs_mirror


@needs_mirror
def test_scp_metadata_drops_type_row_and_casts_numeric(mirror):
    meta = run_parser("scp_metadata", {"table": mirror / "neftel2019_gbm" / "IDHwt.GBM.Metadata.SS2.txt"})
    assert len(meta) == 7930 and "TYPE" not in meta.index
    counts = meta["CellAssignment"].value_counts().to_dict()
    assert counts == {"Malignant": 6863, "Macrophage": 754, "Oligodendrocyte": 219, "T-cell": 94}
    assert meta["MESlike2"].dtype.kind == "f" and meta["Sample"].nunique() == 28


@needs_mirror
def test_scp_parser_refuses_plain_tables(mirror):
    with pytest.raises(ParseError, match="NAME"):
        run_parser("scp_metadata", {"table": mirror / "darmanis2015_brain" / "meta.csv.gz"})


@needs_mirror
def test_infercnv_annotations_and_positions(mirror):
    d = mirror / "tirosh2016_oligodendroglioma"
    ann = run_parser("infercnv_annotations", {"table": d / "oligodendroglioma_annotations_downsampled.txt"})
    assert len(ann) == 184 and ann["label"].value_counts()["Microglia/Macrophage"] == 19
    pos = run_parser("gene_positions", {"table": d / "gencode_downsampled.EXAMPLE_ONLY_DONT_REUSE.txt"})
    assert list(pos.columns) == ["chromosome", "start", "end"]
    assert pos.loc["WASH7P"].tolist() == ["chr1", 14363, 29806]


@needs_mirror
def test_plain_table(mirror):
    meta = run_parser("table", {"table": mirror / "darmanis2015_brain" / "meta.csv.gz"})
    assert len(meta) == 466 and meta["cell type"].value_counts()["neurons"] == 131
