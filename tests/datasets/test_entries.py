"""Every manifest entry, on a fixture in its published file's real layout.

Each fixture is written from the real file's first lines and id forms as seen in the
public code that reads these exact files (cited per fixture), and goes through the
entry's own parser, id rules, patient/sample/region rules and label map (``load`` with
the bundled entry, only the checksums dropped since the bytes are not the real ones).
Mirrored entries (Tirosh 2016, Neftel MGH136, Darmanis 2015) are also checked on the
real bytes in ``test_load.py``.
"""

from __future__ import annotations

import copy
import gzip
import io
import tarfile
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml

from neurosig._resources import manifest_path
from neurosig.datasets import info, list_datasets, load
from neurosig.datasets.fetch import TofuStore, cache_dir, fetch_file
from neurosig.datasets.manifest import Manifest, validate_manifest
from neurosig.errors import InputDataError, ManualDownloadError, NotDataFileError
from neurosig.knowledge.vocabulary import map_label

GENES = ["GFAP", "SOX2", "PTPRC", "CD74", "OLIG2", "MBP"]


@pytest.fixture(autouse=True)
def no_mirror(monkeypatch):
    """Fixtures stand in the cache; the real mirror must not shadow them."""
    monkeypatch.setenv("NEUROSIG_MIRRORS", "")


def _entry(dataset_id: str) -> dict:
    raw = yaml.safe_load(manifest_path().read_text())
    entry = copy.deepcopy(next(d for d in raw["datasets"] if d["id"] == dataset_id))
    for f in entry["files"]:
        for key in ("sha256", "md5", "size"):
            f.pop(key, None)
    entry["verification"] = "unverified"
    return entry


def _manifest(entry: dict) -> Manifest:
    raw = yaml.safe_load(manifest_path().read_text())
    raw["datasets"] = [entry]
    return Manifest(validate_manifest(raw), Path("fixture.yaml"))


def _bytes(name: str, text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return gzip.compress(data) if name.endswith(".gz") else data


def _tar(members: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in members.items():
            data = _bytes(name, text)
            info_ = tarfile.TarInfo(name)
            info_.size = len(data)
            tar.addfile(info_, io.BytesIO(data))
    return buf.getvalue()


def load_fixture(dataset_id: str, files: dict[str, str | bytes]) -> ad.AnnData:
    """Write ``files`` where the cache holds the entry's files and load the entry."""
    entry = _entry(dataset_id)
    folder = cache_dir() / dataset_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        raw = name.endswith((".tar", ".xlsx", ".h5ad"))
        (folder / name).write_bytes(content if raw else _bytes(name, content))
    return load(dataset_id, manifest=_manifest(entry), progress=False)


def check_labels(a: ad.AnnData, dataset_id: str) -> None:
    """Every author label maps to a term; `other`/`unknown` only when listed with a reason."""
    schema = _entry(dataset_id)["schema"]
    notes = schema.get("label_notes", {})
    exact = {
        **schema.get("cell_type_map", {}),
        **{k: "malignant" for k in schema.get("malignant_states", {})},
    }
    for label in a.obs["cell_type_author"].unique():
        term = map_label(None if label == "NA" else label, exact, schema.get("cell_type_patterns"))
        assert term is not None, f"{dataset_id}: author label {label!r} maps to no term"
        if term in ("other", "unknown") and label != "NA":
            assert label in notes, f"{dataset_id}: {label!r} -> {term} without a reason in label_notes"


def by(a: ad.AnnData, *cols: str) -> dict:
    return a.obs.groupby(list(cols), observed=True).size().to_dict()


def triplet(prefix: str, barcodes: list[str], entries: list[str], n_genes: int = 3) -> dict[str, str]:
    """A Cell Ranger 3 triplet (features.tsv with feature type) under ``prefix``."""
    feats = "".join(f"ENSG0000000000{i}\t{g}\tGene Expression\n" for i, g in enumerate(GENES[:n_genes]))
    mtx = (
        "%%MatrixMarket matrix coordinate integer general\n%metadata_json: {}\n"
        f"{n_genes} {len(barcodes)} {len(entries)}\n" + "".join(e + "\n" for e in entries)
    )
    return {
        f"{prefix}matrix.mtx.gz": mtx,
        f"{prefix}features.tsv.gz": feats,
        f"{prefix}barcodes.tsv.gz": "".join(b + "\n" for b in barcodes),
    }


# --------------------------------------------------------------------------- Smart-seq2


def test_darmanis2017_htseq_rows_regions_and_labels():
    """GSE84465_GBM_All_data.csv.gz: space-separated, every name double-quoted, header of
    plate.well cell ids only; ERCC rows; the last five rows are HTSeq's summary rows
    (public code drops them with ``head(..., -5)``). The series matrix holds patient id
    (BT_S1/2/4/6), tissue (Tumor/Periphery) and the cell type with the GEO typo
    ``Astocyte`` (test_geo.py has its exact layout)."""
    cells = ["1001000173.G8", "1001000173.D4", "1001000176.A3", "1001000176.B7"]
    rows = [
        ('"GFAP"', [5, 0, 3, 1]),
        ('"SOX2"', [4, 1, 0, 2]),
        ('"ERCC-00002"', [10, 20, 5, 5]),
        ('"__no_feature"', [900, 800, 700, 600]),
        ('"__ambiguous"', [10, 10, 10, 10]),
        ('"__too_low_aQual"', [0, 0, 0, 0]),
        ('"__not_aligned"', [0, 0, 0, 0]),
        ('"__alignment_not_unique"', [300, 200, 100, 50]),
    ]
    matrix = (
        " ".join(f'"{c}"' for c in cells) + "\n" + "".join(f"{n} {' '.join(map(str, v))}\n" for n, v in rows)
    )
    meta = {
        "plate id": ["1001000173", "1001000173", "1001000176", "1001000176"],
        "well": ["G8", "D4", "A3", "B7"],
        "tissue": ["Tumor", "Periphery", "Tumor", "Tumor"],
        "patient id": ["BT_S2", "BT_S2", "BT_S1", "BT_S1"],
        "cell type": ["Neoplastic", "Astocyte", "Immune cell", "Vascular"],
        "neoplastic": ["Neoplastic", "Regular", "Regular", "Regular"],
        "selection": ["Unpanned"] * 4,
        "tsne cluster": ["1", "2", "3", "4"],
    }
    lines = [
        '!Series_geo_accession\t"GSE84465"',
        "!Sample_title\t" + "\t".join(f'"cell {i}"' for i in range(4)),
    ]
    lines.append("!Sample_geo_accession\t" + "\t".join(f'"GSM224343{i}"' for i in range(4)))
    for key, values in meta.items():
        lines.append("!Sample_characteristics_ch1\t" + "\t".join(f'"{key}: {v}"' for v in values))
    lines.append("!Sample_description\t" + "\t".join(f'"SRR393434{i}"' for i in range(4)))
    lines.append("!Sample_description\t" + "\t".join(f'"{c}"' for c in cells))
    lines += ["!series_matrix_table_begin", '"ID_REF"', "!series_matrix_table_end"]
    a = load_fixture(
        "darmanis2017_gbm",
        {"GSE84465_GBM_All_data.csv.gz": matrix, "GSE84465_series_matrix.txt.gz": "\n".join(lines) + "\n"},
    )
    parser = a.uns["neurosig"]["parser"]
    assert parser["dropped_genes"] == 1 and len(parser["dropped_summary_rows"]) == 5
    assert list(a.var_names) == ["GFAP", "SOX2"]
    np.testing.assert_array_equal(a.obs["total_linear"], [9, 1, 3, 3])  # genes only
    assert by(a, "patient", "region") == {
        ("BT_S1", "Tumor"): 2,
        ("BT_S2", "Periphery"): 1,
        ("BT_S2", "Tumor"): 1,
    }
    assert set(a.obs["sample"]) == {"BT_S1_Tumor", "BT_S2_Tumor", "BT_S2_Periphery"}
    assert list(a.obs["cell_type"]) == ["malignant", "astrocyte", "myeloid", "other"]
    assert list(a.obs["malignant"]) == [True, False, False, False]
    check_labels(a, "darmanis2017_gbm")


def _scp_metadata(rows: list[tuple]) -> str:
    """IDHwt.GBM.Metadata.SS2.txt: NAME, Sample, GBMType, CellAssignment, then the TYPE row."""
    head = "NAME\tSample\tGBMType\tCellAssignment\tGenesExpressed\n"
    types = "TYPE\tgroup\tgroup\tgroup\tnumeric\n"
    return head + types + "".join("\t".join(map(str, r)) + "\n" for r in rows)


def test_neftel_ss2_patient_sample_and_mgh105_regions():
    """GSM3828672: tab-separated, first header field ``GENE``, log2(TPM/10+1). Cell ids
    are <tumour><sort/region>-<plate>-<well> exactly as in the mirrored SCP metadata
    (MGH105A-P1-A01, MGH104negP2-D04, BT1160-P1-A01; BT85's cells read MGH85-...)."""
    cells = ["MGH105A-P1-A01", "MGH105C-P3-B02", "MGH104negP2-D04", "BT1160-P1-A01", "MGH85-P1-A02"]
    values = np.array([[3.2, 0, 1.1, 0.5, 2.0], [0, 4.5, 0.2, 6.1, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    matrix = (
        "GENE\t"
        + "\t".join(cells)
        + "\n"
        + "".join(
            f"{g}\t" + "\t".join(f"{v:.2f}" for v in row) + "\n"
            for g, row in zip(GENES, values, strict=False)
        )
    )
    meta = _scp_metadata(
        [
            ("MGH105A-P1-A01", "MGH105", "Adult", "Malignant", 5000),
            ("MGH105C-P3-B02", "MGH105", "Adult", "Macrophage", 4000),
            ("MGH104negP2-D04", "MGH104", "Adult", "Malignant", 6000),
            ("BT1160-P1-A01", "BT1160", "Pediatric", "T-cell", 3000),
            ("MGH85-P1-A02", "BT85", "Pediatric", "Oligodendrocyte", 3500),
        ]
    )
    a = load_fixture(
        "neftel2019_ss2",
        {"GSM3828672_Smartseq2_GBM_IDHwt_processed_TPM.tsv.gz": matrix, "IDHwt.GBM.Metadata.SS2.txt": meta},
    )
    assert list(a.obs["patient"]) == ["MGH105", "MGH105", "MGH104", "BT1160", "BT85"]
    assert list(a.obs["sample"]) == ["MGH105A", "MGH105C", "MGH104negP2", "BT1160", "MGH85"]
    assert list(a.obs["region"]) == ["A", "C", "none", "none", "none"]
    assert a.obs["cell_type"].value_counts()[
        ["malignant", "macrophage", "T_cell", "oligodendrocyte"]
    ].tolist() == [
        2,
        1,
        1,
        1,
    ]
    check_labels(a, "neftel2019_ss2")


def test_tirosh2016_full_quoted_ids_with_and_without_mgh():
    """GSE70630_OG_processed_data_v2.txt.gz: a leading tab, every name in single quotes,
    NA for not detected; ids MGH36_P1_A01 and, for two tumours, 93_P2_B03 / 97_... with no
    MGH (the infercnv subset of the same file, mirrored, shows both forms)."""
    text = "\t'MGH36_P1_A01'\t'93_P2_B03'\t'97_P1_D01'\n'GFAP'\t1.5\tNA\t2\n'SOX2'\t0\t3.25\t1\n"
    a = load_fixture("tirosh2016_oligodendroglioma_full", {"GSE70630_OG_processed_data_v2.txt.gz": text})
    assert list(a.obs["patient"]) == ["MGH36", "MGH93", "MGH97"]
    assert set(a.obs["region"]) == {"none"} and list(a.obs["sample"]) == ["MGH36", "MGH93", "MGH97"]
    assert set(a.obs["cell_type"]) == {"unknown"}  # labels need an SCP12 sign-in
    check_labels(a, "tirosh2016_oligodendroglioma_full")


def test_venteicher_digit_lowercase_and_sorted_ids():
    """GSE89567_IDH_A_processed_data.txt.gz: as GSE70630. Public code reading it fixes
    ``X57 -> MGH57`` (R's renaming of ids that start with 57_), ``mgh103 -> MGH103`` and
    strips POS/NEG after toupper (MGH107pos/MGH107neg are CD45 sorts of one tumour)."""
    cells = ["57_P1_A01", "mgh103_P2_B01", "MGH107neg_P1_C01", "MGH107pos_P2_D01", "MGH42_P1_E01"]
    text = "\t" + "\t".join(f"'{c}'" for c in cells) + "\n'GFAP'\t1\t2\t3\t4\t5\n'CD74'\t0\t1\t0\t1\tNA\n"
    a = load_fixture("venteicher2017_astrocytoma", {"GSE89567_IDH_A_processed_data.txt.gz": text})
    assert list(a.obs["patient"]) == ["MGH57", "MGH103", "MGH107", "MGH107", "MGH42"]
    assert list(a.obs["sample"]) == ["MGH57", "MGH103", "MGH107neg", "MGH107pos", "MGH42"]
    assert a.obs["patient"].nunique() == 4
    check_labels(a, "venteicher2017_astrocytoma")


def test_filbin_adult_and_normal_oligodendrocyte_cells():
    """GSE102130_K27Mproject.RSEM.vh20170621.txt.gz: first column ``Gene`` (R code reads
    ``dipg_tpm$Gene``), TPM. Besides the K27M tumours (BCH836, MUV10) it holds adult
    MGH66/MGH101/MGH104 cells and normal oligodendrocytes named ``Oligo-...``."""
    cells = ["BCH836-P1-A01", "MUV10-P2-B01", "MGH66-P1-A01", "Oligo-P1-A01"]
    text = "Gene\t" + "\t".join(cells) + "\nGFAP\t120.5\t0\t33.2\t0\nMBP\t0\t12.25\t0\t250.75\n"
    a = load_fixture("filbin2018_dmg", {"GSE102130_K27Mproject.RSEM.vh20170621.txt.gz": text})
    assert list(a.obs["patient"]) == ["BCH836", "MUV10", "MGH66", "normal_oligodendrocytes"]
    assert list(a.obs["cell_type"]) == ["unknown", "unknown", "unknown", "oligodendrocyte"]
    check_labels(a, "filbin2018_dmg")


def test_mathewson_empty_id_header_and_per_sample_url():
    """GSM4972161_tpm.csv.gz and GSE163108_metadata_Smart-Seq2.csv.gz both start with an
    empty header field (R code reads ``raw$X`` and ``cell$X``; pandas calls it
    ``Unnamed: 0``), so the metadata id column is taken by position."""
    entry = _entry("mathewson2021_tcell")
    tpm = [f for f in entry["files"] if f["name"] == "GSM4972161_tpm.csv.gz"][0]
    assert tpm["url"].endswith("/geo/samples/GSM4972nnn/GSM4972161/suppl/GSM4972161_tpm.csv.gz")
    assert not any(f["name"].endswith("RAW.tar") for f in entry["files"])
    cells = ["E99_P1_A01", "E99_P1_A02", "E100_P3_C05"]
    matrix = '"",' + ",".join(f'"{c}"' for c in cells) + '\n"CD74",10.5,0,33.25\n"PTPRC",100.5,200.25,0\n'
    meta = '"","therapy","annotate"\n' + "".join(
        f'"{c}","none","{lab}"\n' for c, lab in zip(cells, ["CD8+", "CD4+", "CD8+"], strict=True)
    )
    a = load_fixture(
        "mathewson2021_tcell", {"GSM4972161_tpm.csv.gz": matrix, "GSE163108_metadata_Smart-Seq2.csv.gz": meta}
    )
    assert list(a.obs["patient"]) == ["E99", "E99", "E100"]
    assert list(a.obs["cell_type"]) == ["T_CD8", "T_CD4", "T_CD8"]
    check_labels(a, "mathewson2021_tcell")


# --------------------------------------------------------------------------- droplet


def test_neftel_10x_tumour_names_and_regions(tmp_path):
    """GSM3828673_10X_GBM_IDHwt_processed_TPM.tsv.gz: header ``GENE`` then cell ids that
    start with the tumour number and region letter (R shows them as X105A..., public code
    strips ``^X`` to match GEO's per-cell sheet). That sheet,
    GSE131928_single_cells_tumor_name_and_adult_or_peidatric.xlsx, has 43 description rows
    before its header (public code: ``read_xlsx(skip = 43)``) and the columns Sample name,
    tumour name, adult/pediatric, processed data file."""
    import openpyxl

    cells = ["105A_AAACCTGAGAAGGCCT", "105B_AAACCTGCAATGGAGC", "102_AAACCTGAGCGATAGC"]
    text = "GENE\t" + "\t".join(cells) + "\nGFAP\t1200.5\t0\t35.5\nSOX2\t0\t800.25\t12.5\n"
    book = openpyxl.Workbook()
    sheet = book.active
    for i in range(43):
        sheet.append([f"description line {i + 1}" if i % 5 == 0 else None])
    sheet.append(["Sample name", "tumour name", "adult/pediatric", "processed data file"])
    for cell, tumour in zip(cells, ["MGH105", "MGH105", "MGH102"], strict=True):
        sheet.append([cell, tumour, "adult", "10X_GBM_IDHwt_processed_TPM.tsv"])
    sheet.append(["MGH100-P5-A01", "MGH100", "adult", "Smartseq2_GBM_IDHwt_processed_TPM.tsv"])
    xlsx = tmp_path / "sheet.xlsx"
    book.save(xlsx)
    a = load_fixture(
        "neftel2019_10x",
        {
            "GSM3828673_10X_GBM_IDHwt_processed_TPM.tsv.gz": text,
            "GSE131928_single_cells_tumor_name_and_adult_or_peidatric.xlsx": xlsx.read_bytes(),
        },
    )
    assert list(a.obs["patient"]) == ["MGH105", "MGH105", "MGH102"]
    assert list(a.obs["region"]) == ["A", "B", "none"]
    assert list(a.obs["sample"]) == ["MGH105A", "MGH105B", "MGH102"]
    assert list(a.obs["author_adult/pediatric"]) == ["adult"] * 3
    check_labels(a, "neftel2019_10x")


def test_yuan_headerless_members():
    """GSE103224_RAW.tar: GSM2758471_PJ016.filtered.matrix.txt.gz ..., no header,
    versioned Ensembl id, symbol, then UMI counts (test_dense.py has the layout)."""
    tar = _tar(
        {
            "GSM2758471_PJ016.filtered.matrix.txt.gz": "ENSG00000131095.11\tGFAP\t1\t0\n",
            "GSM2940098_PJ048.filtered.matrix.txt.gz": "ENSG00000131095.11\tGFAP\t2\t0\t7\n",
        }
    )
    a = load_fixture("yuan2018_gbm", {"GSE103224_RAW.tar": tar})
    assert by(a, "patient") == {"PJ016": 2, "PJ048": 3}
    check_labels(a, "yuan2018_gbm")


def test_abdelfattah_fragments_of_one_person_are_one_patient():
    """GSE182109_RAW.tar: 44 Cell Ranger triplets named by fragment (third-party code maps
    ``GSM5518600_ndGBM-01-A`` to patient ndGBM-01): 18 people, not 44."""
    members = {}
    for gsm, name in (
        ("GSM5518600", "ndGBM-01-A"),
        ("GSM5518601", "ndGBM-01-B"),
        ("GSM5518630", "rGBM-02-A"),
        ("GSM5518596", "LGG-03-A"),
    ):
        members.update(triplet(f"{gsm}_{name}_", ["AAACCTGA-1", "AAACCTGC-1"], ["1 1 3", "2 2 4"]))
    a = load_fixture("abdelfattah2022_glioma", {"GSE182109_RAW.tar": _tar(members)})
    assert set(a.obs["patient"]) == {"ndGBM-01", "rGBM-02", "LGG-03"}
    assert by(a, "patient", "region")[("ndGBM-01", "B")] == 2
    assert a.obs["sample"].nunique() == 4
    check_labels(a, "abdelfattah2022_glioma")


def _wang2019_members() -> dict[str, str]:
    """Members of GSE138794_RAW.tar: RNA triplets and the snATAC files the entry leaves out."""
    members: dict[str, str] = {}
    for gsm, sf, barcodes in (
        ("GSM4119535", "SF11136", ["AAACCTGAGAAGGCCT-1", "AAACCTGCAATGGAGC-1", "AAACGGGAGCTAGTGG-1"]),
        ("GSM4119534", "SF11644", ["AAACCTGAGAAGGCCT-1", "AAAGATGCAGCTGTTA-1"]),
    ):
        part = triplet(f"{gsm}_{sf}_", barcodes, ["1 1 3", "2 2 4"][: len(barcodes)] + ["3 1 1"])
        part[f"{gsm}_{sf}_features.tsv.gz"] = "".join(g + "\n" for g in GENES[:3])  # symbol only
        members.update(part)
    sn = triplet("GSM4119521_SF10022_", ["AAACCCAAGAGGTTAT-1", "AAACCCACAGCTCGGT-1"], ["1 1 5", "3 2 2"])
    sn["GSM4119521_SF10022_genes.tsv.gz"] = "".join(
        f"ENSG0000000000{i}\t{g}\n" for i, g in enumerate(GENES[:3])
    )
    del sn["GSM4119521_SF10022_features.tsv.gz"]
    members.update(sn)
    members.update(
        {
            "GSM4119518_SF11956_matrix.mtx.gz": "%%MatrixMarket matrix coordinate integer general\n"
            "2 1 1\n1 1 1\n",
            "GSM4119518_SF11956_barcodes.tsv.gz": "AAACGAAAGACTCGGA-1\n",
            "GSM4119518_SF11956_peaks.bed.gz": "chr1\t10000\t10500\nchr1\t20000\t20500\n",
        }
    )
    return members


def test_wang2019_sc_and_sn_labels_patients_and_atac_left_out():
    """GSE138794_RAW.tar (Wang 2019, Cancer Discovery): RNA members GSM<id>_SF<tumour>_*;
    the scRNA libraries GSM4119531-39 ship a one-column features.tsv (public code renames
    ``*features.tsv.gz`` and must read them with ``Read10X(gene.column = 1)``; snRNA
    GSM4119521 reads with the default two columns); the same tar holds snATAC members
    GSM4119513-20 with ``peaks.bed.gz`` (third-party code: "GSM<id>_<sample>_matrix.mtx.gz,
    _barcodes.tsv.gz, _peaks.bed.gz"). The two label files are headerless, cell id then
    label (public code: ``fread(header = FALSE)``, ``rownames <- V1``; another splits V1 on
    ``_`` and takes the barcode as its second part; cells of ``add.cell.ids``-merged
    objects match V1): ids <SF####>_<barcode>. ``Neoplastic_cell`` is the label public
    code subsets as malignant; the file's separator is not documented (read.table and
    fread detect it), so one fixture uses a tab and the other a space. The GSM/SF pairs
    are the real ones (GSM4119535 SF11136, GSM4119534 SF11644, GSM4119521 SF10022,
    GSM4119518 SF11956 snATAC); the barcodes and labels per cell are made up."""
    sc = "SF11136_AAACCTGAGAAGGCCT-1\tNeoplastic_cell\nSF11136_AAACGGGAGCTAGTGG-1\tNeoplastic_cell\n"
    sc += "SF11644_AAACCTGAGAAGGCCT-1\tNeoplastic_cell\n"
    sn = "SF10022_AAACCCAAGAGGTTAT-1 Neoplastic_cell\n"
    files = {
        "GSE138794_RAW.tar": _tar(_wang2019_members()),
        "GSE138794_scRNA_Seq_cell_types.txt.gz": sc,
        "GSE138794_snRNA_Seq_cell_types.txt.gz": sn,
    }
    a = load_fixture("wang2019_glioma", files)
    assert a.n_obs == 7  # 3 + 2 scRNA, 2 snRNA; the snATAC library is not read
    assert by(a, "patient") == {"SF10022": 2, "SF11136": 3, "SF11644": 2}
    assert set(a.obs["sample"]) == {"SF11136_GSM4119535", "SF11644_GSM4119534", "SF10022_GSM4119521"}
    assert set(a.obs["region"]) == {"none"}
    assert sorted(a.var_names) == sorted(GENES[:3])  # symbols from both features layouts
    labelled = {
        "GSM4119535_SF11136:AAACCTGAGAAGGCCT-1",
        "GSM4119535_SF11136:AAACGGGAGCTAGTGG-1",
        "GSM4119534_SF11644:AAACCTGAGAAGGCCT-1",
        "GSM4119521_SF10022:AAACCCAAGAGGTTAT-1",
    }
    expected = ["malignant" if c in labelled else "unknown" for c in a.obs_names]
    assert list(a.obs["cell_type"].astype(str)) == expected
    joins = a.uns["neurosig"]["obs_joins"]
    assert joins["GSE138794_scRNA_Seq_cell_types.txt.gz"]["cells_matched"] == 3
    assert joins["GSE138794_snRNA_Seq_cell_types.txt.gz"]["cells_matched"] == 1
    assert a.layers["counts"].sum() == 3 + 4 + 1 + 3 + 4 + 1 + 5 + 2
    check_labels(a, "wang2019_glioma")
    # a label file whose ids do not take the rewritten form is an error naming both forms
    files["GSE138794_scRNA_Seq_cell_types.txt.gz"] = "AAACCTGAGAAGGCCT-1\tNeoplastic_cell\n"
    wrong_form = r"no cell .* file .*scRNA.*read as SF116\d\d_AAAC.*cell_id rewrite"
    with pytest.raises(InputDataError, match=wrong_form):
        load_fixture("wang2019_glioma", files)


def test_krishna_hfc_lfc_within_patient():
    """GSE223065_RAW.tar: GSM6939133_HFC1 ... GSM6939138_LFC3 Cell Ranger outputs; HFC1
    and LFC1 are the two regions of patient 1."""
    members = {}
    for gsm, name in (("GSM6939133", "HFC1"), ("GSM6939134", "LFC1"), ("GSM6939135", "HFC2")):
        members.update(triplet(f"{gsm}_{name}_", ["AAACCTGA-1"], ["1 1 2"]))
    a = load_fixture("krishna2023_connectivity", {"GSE223065_RAW.tar": _tar(members)})
    assert list(a.obs["patient"]) == ["patient1", "patient1", "patient2"]
    assert list(a.obs["region"]) == ["HFC", "LFC", "HFC"]
    assert list(a.obs["sample"]) == ["HFC1", "LFC1", "HFC2"]
    check_labels(a, "krishna2023_connectivity")


def test_wang_pairs_timepoints_damaged_lines_and_labels():
    """GSE174554_RAW.tar: triplets GSM..._SF####[v2]_{matrix.mtx,features.tsv,barcodes.tsv}.gz;
    some matrices have damaged data lines (third-party code re-parses them, keeping lines
    with three numbers). GSE174554_Tumor_normal_metadata.txt.gz is space-separated Sample,
    Barcode (no -1), Tumor_Normal_annotation. SF2777 (primary) and SF2979 (recurrence) are
    one person in third-party code."""
    members = {}
    members.update(triplet("GSM5319518_SF2777_", ["AAAC-1", "AAAG-1"], ["1 1 3", "2 2 4"]))
    members.update(triplet("GSM5319548_SF2979_", ["AAAC-1", "CCCT-1"], ["1 1 5", "1 2 x#", "3 2 1", "9"]))
    members.update(triplet("GSM5319600_SF10099v2_", ["GGGA-1"], ["1 1 2"]))
    # a re-sequencing run of SF2777: the same two barcodes, so the same cells
    members.update(triplet("GSM5319601_SF2777v2_", ["AAAG-1", "AAAC-1"], ["1 1 10", "3 2 1"]))
    meta = (
        "Sample Barcode Tumor_Normal_annotation\nSF2777 AAAC Tumor\nSF2777 AAAG Normal\nSF2979 AAAC Tumor\n"
    )
    a = load_fixture(
        "wang2022_longitudinal",
        {"GSE174554_RAW.tar": _tar(members), "GSE174554_Tumor_normal_metadata.txt.gz": meta},
    )
    assert by(a, "patient", "region") == {
        ("SF2777", "primary"): 2,
        ("SF2777", "recurrent"): 2,
        ("SF10099", "none"): 1,
    }
    assert set(a.obs["sample"]) == {"SF2777", "SF2979", "SF10099v2"}
    assert list(a.obs["cell_type"]) == ["malignant", "other", "malignant", "unknown", "unknown"]
    skipped = a.uns["neurosig"]["parser"]["skipped_lines"]
    assert skipped == {"GSM5319548_SF2979": 2}  # "1 2 x#" and the truncated "9"
    assert a.layers["counts"].sum() == 3 + 4 + 5 + 1 + 2 + 10 + 1
    resequenced = a.uns["neurosig"]["parser"]["resequenced"]
    assert resequenced["GSM5319601_SF2777v2"]["library"] == "GSM5319518_SF2777"
    assert resequenced["GSM5319601_SF2777v2"]["barcode_overlap"] == 1.0
    # the re-run's counts are added to the same cells, not counted as new cells
    sf2777 = a[a.obs_names == "GSM5319518_SF2777:AAAG-1"]
    assert sf2777.layers["counts"].sum() == 4 + 10
    check_labels(a, "wang2022_longitudinal")


def test_lee2021_seurat_object_ids_treatment_and_no_labels():
    """GSE154795_GBM.AllCell.Integrated.Scaled.ClusterRes.0.1.rds.gz, the authors' Seurat v3
    object (README: "the combined RDS file ... deposited at GEO"), read by public code as
    ``obj@assays$RNA@counts`` and ``obj@meta.data`` with columns ID (joined on the GEO
    family.soft sample titles), condition (``GBM.PD1``, ``GBM.rec`` selected),
    IDH_status (``WT``), MGMT and seurat_clusters; another reader subsets cluster 4 as the
    lymphoid cells. The IDs, MGMT values and cell names below are placeholders (the real
    sample titles were not seen); the object carries no cell-type column."""
    from .parsers.test_rds import seurat_rds_bytes

    cells = ["AAACCTGAGAAGGCCT-1_1", "AAACCTGCAATGGAGC-1_1", "AAACGGGAGCTAGTGG-1_2", "AAAGATGCAGCTGTTA-1_3"]
    counts = np.array([[5, 0, 1, 2], [0, 7, 3, 0], [2, 1, 0, 4]])
    meta = pd.DataFrame(
        {
            "orig.ident": pd.Categorical(["S1", "S1", "S2", "S3"]),
            "nCount_RNA": counts.sum(axis=0).astype(float),
            "ID": ["S1", "S1", "S2", "S3"],
            "condition": ["GBM.PD1", "GBM.PD1", "GBM.rec", "GBM.PD1"],
            "IDH_status": ["WT", "WT", "WT", "WT"],
            "MGMT": ["methylated", "methylated", "unmethylated", "unmethylated"],
            "seurat_clusters": pd.Categorical(["0", "4", "1", "4"]),
        },
        index=cells,
    )
    rds = gzip.compress(seurat_rds_bytes(counts, GENES[:3], cells, meta))
    a = load_fixture(
        "lee2021_pd1_rgbm", {"GSE154795_GBM.AllCell.Integrated.Scaled.ClusterRes.0.1.rds.gz": rds}
    )
    assert by(a, "patient") == {"S1": 2, "S2": 1, "S3": 1}
    assert set(a.obs["region"]) == {"none"} and list(a.obs["sample"]) == ["S1", "S1", "S2", "S3"]
    assert list(a.obs["author_condition"]) == ["GBM.PD1", "GBM.PD1", "GBM.rec", "GBM.PD1"]
    assert list(a.obs["author_seurat_clusters"]) == ["0", "4", "1", "4"]
    assert set(a.obs["cell_type"]) == {"unknown"} and set(a.obs["cell_type_author"]) == {"NA"}
    np.testing.assert_array_equal(a.layers["counts"].toarray(), counts.T)
    check_labels(a, "lee2021_pd1_rgbm")


def test_pombo_antunes_labels():
    """GSM4972211: dense CSV genes x cells (empty first header field, R reads it as X) and
    the annotation CSV with columns x, y, ident, cluster, cell, sample (public code renames
    them so and keeps cell, sample); clusters as read by public code (TAM 1, TAM 2,
    prol. TAM, Monocytes, DC, T cells, NK cells, B cells)."""
    clusters = ["TAM 1", "TAM 2", "prol. TAM", "Monocytes", "DC", "T cells", "NK cells", "B cells"]
    cells = [f"ND{1 + i % 2}_AAACCTG{i}" for i in range(len(clusters))]
    matrix = '""' + "".join(f',"{c}"' for c in cells) + "\n" + '"CD74"' + ",3" * len(cells) + "\n"
    annot = "x,y,ident,cluster,cell,sample\n" + "".join(
        f"0.5,-1.25,{i},{k},{c},{c.split('_')[0]}\n"
        for i, (k, c) in enumerate(zip(clusters, cells, strict=True))
    )
    a = load_fixture(
        "pombo_antunes2021_myeloid",
        {
            "GSM4972211_Human.GBM.ND1_2_3_4_5_6_7.filtered.gene.bc.matrix.csv.gz": matrix,
            "GSM4972211_annot.Human.GBM.ND1_2_3_4_5_6_7.csv.gz": annot,
        },
    )
    assert list(a.obs["cell_type"]) == [
        "macrophage",
        "microglia",
        "myeloid",
        "monocyte",
        "dendritic",
        "T_cell",
        "NK",
        "B",
    ]
    assert set(a.obs["patient"]) == {"ND1", "ND2"}
    check_labels(a, "pombo_antunes2021_myeloid")


def test_gbmap_all_cellid_labels_states_and_donors(tmp_path):
    """scarches_core_GBmap.h5ad: raw counts in layers["counts"], donors in ``patient``
    (113 raw categories for 110 donors: PW032-701/-702/-712 are samples of PW032, and
    ``R4 n.c.`` a second specimen of R4), studies in ``author``, and the 20 ``CellID``
    labels listed by a third-party audit of this exact file."""
    labels = [
        "AC-like", "Astrocyte", "B cell", "CD4/CD8", "DC", "Endothelial", "MES-like", "Mast",
        "Mono", "Mural cell", "NK", "NPC-like", "Neuron", "OPC", "OPC-like", "Oligodendrocyte",
        "Plasma B", "RG", "TAM-BDM", "TAM-MG",
    ]  # fmt: skip
    n = len(labels)
    donors = ["PW032-701", "PW032-702", "PW032-712", "R4", "R4 n.c.", "MGH105"] * 4
    obs = pd.DataFrame(
        {"patient": donors[:n], "author": ["Neftel2019_10x"] * n, "CellID": labels},
        index=[f"c{i}" for i in range(n)],
    )
    x = sp.csr_matrix(np.ones((n, 3), dtype=np.float32))
    adata = ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=GENES[:3]))
    adata.layers["counts"] = sp.csr_matrix(np.full((n, 3), 2, dtype=np.float32))
    path = tmp_path / "g.h5ad"
    adata.write_h5ad(path)
    a = load_fixture("gbmap_core", {"scarches_core_GBmap.h5ad": path.read_bytes()})
    assert "unknown" not in set(a.obs["cell_type"])
    got = dict(zip(a.obs["cell_type_author"], a.obs["cell_type"], strict=True))
    assert got["TAM-BDM"] == "macrophage" and got["TAM-MG"] == "microglia" and got["CD4/CD8"] == "T_cell"
    malignant = a.obs[a.obs["cell_type"] == "malignant"]
    assert sorted(malignant["state_author"]) == ["AC-like", "MES-like", "NPC-like", "OPC-like"]
    assert set(a.obs.loc[a.obs["cell_type"] != "malignant", "state_author"]) == {"none"}
    assert set(a.obs["patient"]) == {"PW032", "R4", "MGH105"}
    assert a.obs["sample"].nunique() == 6
    check_labels(a, "gbmap_core")


# --------------------------------------------------------------------------- manual download


def test_richards_manual_download_is_explained_and_html_never_trusted():
    """SCP503 serves files only after a sign-in: the entry names the page, the error and
    ``datasets info``/``list`` say where to put the file; an HTML page saved in its place
    is refused and no hash is recorded for it."""
    entry = _entry("richards2021_gbm")
    with pytest.raises(ManualDownloadError, match=r"SCP503.*richards2021_gbm/Richards_NatureCancer"):
        fetch_file(entry, "Richards_NatureCancer_GBM_scRNAseq_meta.csv")
    table = list_datasets()
    assert "SCP503" in table.set_index("id").loc["richards2021_gbm", "manual_download"]
    assert "manual download" in info("richards2021_gbm")["files"][0]["how_to_get"]
    folder = cache_dir() / "richards2021_gbm"
    folder.mkdir(parents=True)
    page = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>" + " " * 2000 + "</html>\n"
    (folder / "Richards_NatureCancer_GBM_scRNAseq_meta.csv").write_text(page)
    with pytest.raises(NotDataFileError, match="HTML page"):
        fetch_file(entry, "Richards_NatureCancer_GBM_scRNAseq_meta.csv")
    assert TofuStore(cache_dir()).get("richards2021_gbm/Richards_NatureCancer_GBM_scRNAseq_meta.csv") is None


def test_richards_loads_once_placed_by_hand():
    """SCP503 counts and metadata CSVs both start with an empty header field (R code reads
    ``pugh.counts$X`` and ``pugh.meta$X``); the metadata has PatientID and CellType
    (Immune, NormalBrain, Tumour) as grouped by public code."""
    cells = ["G967_AAACCTGA-1", "G967_AAACCTGC-1", "G983_AAACGGGA-1"]
    counts = '""' + "".join(f',"{c}"' for c in cells) + '\n"GFAP",5,0,1\n"PTPRC",0,7,0\n'
    meta = '"","PatientID","CellType"\n' + "".join(
        f'"{c}","{c.split("_")[0]}","{t}"\n'
        for c, t in zip(cells, ["Tumour", "Immune", "NormalBrain"], strict=True)
    )
    a = load_fixture(
        "richards2021_gbm",
        {
            "Richards_NatureCancer_GBM_scRNAseq_counts.csv.gz": counts,
            "Richards_NatureCancer_GBM_scRNAseq_meta.csv": meta,
        },
    )
    assert list(a.obs["patient"]) == ["G967", "G967", "G983"]
    assert list(a.obs["cell_type"]) == ["malignant", "other", "other"]
    check_labels(a, "richards2021_gbm")


# --------------------------------------------------------------------------- the label rule


def test_every_mapped_label_is_a_term_or_listed():
    """No entry maps an author label to other/unknown without a reason in label_notes."""
    raw = yaml.safe_load(manifest_path().read_text())
    for entry in raw["datasets"]:
        schema = entry["schema"]
        notes = schema.get("label_notes", {})
        for label, term in (schema.get("cell_type_map") or {}).items():
            if term in ("other", "unknown"):
                assert label in notes, f"{entry['id']}: {label!r} -> {term} has no reason"
        assert set(notes) <= set(schema.get("cell_type_map") or {}), entry["id"]


def test_summary_rows_left_in_a_user_matrix_are_refused():
    """A matrix that still carries HTSeq's rows (as the mirrored Darmanis 2015 file does)
    is refused by harmonise with the fix named, not silently normalised."""
    from neurosig.datasets.harmonise import harmonise

    x = sp.csr_matrix(np.array([[5, 3, 800], [1, 2, 600]], dtype=np.float32))
    obs = pd.DataFrame({"donor": ["P1", "P2"]}, index=["c1", "c2"])
    adata = ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=["GFAP", "SOX2", "no_feature"]))
    with pytest.raises(InputDataError, match="no_feature.*not genes.*drop_summary_rows"):
        harmonise(adata, dataset_id="mine", value_type="counts", schema={"patient": {"column": "donor"}})
