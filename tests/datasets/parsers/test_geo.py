"""GEO series matrix, on a fixture in the exact GSE84465 layout."""

from __future__ import annotations

from neurosig.datasets.parsers import run_parser

from ...conftest import write_gz

SERIES = """!Series_title\t"Single-cell RNA-seq analysis of infiltrating neoplastic cells"
!Series_geo_accession\t"GSE84465"
!Sample_title\t"Tumor 1 cell 1"\t"Periphery 1 cell 2"
!Sample_geo_accession\t"GSM2243439"\t"GSM2243440"
!Sample_characteristics_ch1\t"plate id: 1001000173"\t"plate id: 1001000173"
!Sample_characteristics_ch1\t"well: G8"\t"well: D4"
!Sample_characteristics_ch1\t"tissue: Tumor"\t"tissue: Periphery"
!Sample_characteristics_ch1\t"patient id: BT_S2"\t"patient id: BT_S2"
!Sample_characteristics_ch1\t"cell type: Neoplastic"\t"cell type: Immune cell"
!Sample_characteristics_ch1\t"neoplastic: Neoplastic"\t"neoplastic: Regular"
!Sample_description\t"SRR3934349"\t"SRR3934350"
!Sample_description\t"1001000173.G8"\t"1001000173.D4"
!series_matrix_table_begin
"ID_REF"\t"GSM2243439"\t"GSM2243440"
!series_matrix_table_end
"""


def test_series_matrix_characteristics_become_columns(tmp_path):
    path = write_gz(tmp_path / "GSE84465_series_matrix.txt.gz", SERIES)
    meta = run_parser("geo_series_matrix", {"series_matrix": path}, {"cell_id": "description_2"})
    assert list(meta.index) == ["1001000173.G8", "1001000173.D4"]
    assert list(meta["cell type"]) == ["Neoplastic", "Immune cell"]
    assert list(meta["patient id"]) == ["BT_S2", "BT_S2"]
    assert list(meta["geo_accession"]) == ["GSM2243439", "GSM2243440"]
    assert list(meta["description_1"]) == ["SRR3934349", "SRR3934350"]
