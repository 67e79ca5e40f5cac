"""GBM-CARE (GSE274546) through its own manifest entry, parsers, id rules and label map.

The fixture copies the real layouts:

* GEO's ``GSE274546_RAW.tar`` holds ``GSM*_P#T#_umi_counts.RDS.gz``: an ``.rds`` of a
  dense genes x nuclei UMI matrix, gzipped a second time by GEO ("gunzip once, then
  readRDS"; P32T1 33,538 genes x 372 nuclei, cell ids ``<Sample>-<barcode>-1``), as read by
  a third party (find_string "GSE274546_RAW.tar (4.27 GB) holds 121 files"; their
  ``parse_gse274546`` uses the same member regex ``GSM\\d+_(...)_umi_counts\\.RDS\\.gz``).
  The GSM numbers below are placeholders of that form; genes are Cell Ranger GRCh38 symbols.
* The labels are the authors' ``data/celltype_meta_data_2025_01_08.RDS`` and
  ``data/malignant_meta_data_2025_01_08.RDS`` (github.com/dravishays/GBM-CARE-WT at
  383b0a3): the rows below are real rows of those files (first cell of each label in
  P3T1, P3T2 and P53T1; P3 is a primary/first-recurrence pair, P53's T1 is already a first
  recurrence, Spitzer 2025 Table S1), tibbles with a factor CellType.
* The GEO matrices also hold nuclei that failed the authors' QC (P32T1: 372 on GEO, 178
  labelled): one unlabelled nucleus per sample here, which the entry drops.
"""

from __future__ import annotations

import copy
import dataclasses
import gzip
import io
import tarfile

import numpy as np
import pandas as pd
import pytest
import rdata
import yaml
from rdata.conversion import ConverterFromPythonToR
from rdata.unparser import unparse_data

from neurosig._resources import manifest_path
from neurosig.datasets import load
from neurosig.datasets.manifest import Manifest, validate_manifest
from neurosig.datasets.parsers import run_parser
from neurosig.errors import ParseError

ID = "gbmcare2025_longitudinal"
GENES = ["MIR1302-2HG", "FAM138A", "OR4F5", "PTPRC", "GFAP", "SOX2", "MBP", "SNAP25", "CD3E"]
CELLTYPE_ROWS = [  # CellID, Sample, ID, CellType: real rows of celltype_meta_data_2025_01_08.RDS
    ("COLUMBIA990051-AAACCCAAGAAGGGAT-1", "COLUMBIA990051", "P3T1", "Malignant"),
    ("COLUMBIA990051-AAAGGATCAAGACGAC-1", "COLUMBIA990051", "P3T1", "Other"),
    ("COLUMBIA990051-AACAACCTCTGGTTGA-1", "COLUMBIA990051", "P3T1", "TAM"),
    ("COLUMBIA990051-AACACACCAACGACTT-1", "COLUMBIA990051", "P3T1", "Excitatory neuron"),
    ("COLUMBIA990051-AATAGAGTCACCCTGT-1", "COLUMBIA990051", "P3T1", "Endothel"),
    ("COLUMBIA990051-ACCAAACAGCAGCCCT-1", "COLUMBIA990051", "P3T1", "Lymphocyte"),
    ("COLUMBIA990051-ACCCTTGGTTACGGAG-1", "COLUMBIA990051", "P3T1", "Pericyte"),
    ("COLUMBIA990051-CACGTTCTCTTCCGTG-1", "COLUMBIA990051", "P3T1", "Inhibitory neuron"),
    ("COLUMBIA990051-CCCATTGCACCTTCCA-1", "COLUMBIA990051", "P3T1", "Astrocyte"),
    ("COLUMBIA000157-AAACCCAAGACTCTAC-1", "COLUMBIA000157", "P3T2", "Malignant"),
    ("COLUMBIA000157-AAACCCAAGCATTGTC-1", "COLUMBIA000157", "P3T2", "TAM"),
    ("COLUMBIA000157-ACCAAACCACTACCGG-1", "COLUMBIA000157", "P3T2", "Lymphocyte"),
    ("N180819-AAACCCAAGGTCCAGA-1", "N180819", "P53T1", "Malignant"),
    ("N180819-AATGGCTAGCCACCGT-1", "N180819", "P53T1", "Oligodendrocyte"),
    ("N180819-GATCAGTAGGAACATT-1", "N180819", "P53T1", "OPC"),
]
MALIGNANT_ROWS = [  # CellID, Sample, ID, State, isCC: real rows of malignant_meta_data_2025_01_08.RDS
    ("COLUMBIA990051-AAACCCAAGAAGGGAT-1", "COLUMBIA990051", "P3T1", "Hypoxia", False),
    ("COLUMBIA000157-AAACCCAAGACTCTAC-1", "COLUMBIA000157", "P3T2", "MES", False),
    ("N180819-AAACCCAAGGTCCAGA-1", "N180819", "P53T1", "GPC", False),
]
GSM = {"P3T1": "GSM8456001", "P3T2": "GSM8456002", "P53T1": "GSM8456003"}  # placeholders


def dense_rds(matrix: np.ndarray, genes: list[str], cells: list[str]) -> bytes:
    """``saveRDS(m)`` of an integer genes x cells matrix with dimnames (R gzips it)."""
    conv = ConverterFromPythonToR()
    obj = conv.convert_to_r_object(np.asarray(matrix, dtype=np.int32).ravel(order="F"))
    attrs = conv.convert_to_r_attributes(
        {"dim": np.array(matrix.shape, dtype=np.int32), "dimnames": [np.array(genes), np.array(cells)]}
    )
    obj = dataclasses.replace(obj, info=dataclasses.replace(obj.info, attributes=True), attributes=attrs)
    data = dataclasses.replace(conv.convert_to_r_data(np.zeros(1, dtype=np.int32)), object=obj)
    return gzip.compress(unparse_data(data, file_format="xdr", file_type="rds"))


def table_rds(path, frame: pd.DataFrame) -> None:
    rdata.write_rds(path, frame)


@pytest.fixture
def gbmcare(tmp_path, monkeypatch):
    """The three files in a mirror folder, and the bundled entry with the fixture's hashes unpinned."""
    d = tmp_path / "mirror" / ID
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    with tarfile.open(d / "GSE274546_RAW.tar", "w") as tar:
        for sid, gsm in GSM.items():
            cells = [c for c, _, i, _ in CELLTYPE_ROWS if i == sid]
            cells.append(f"{cells[0].split('-')[0]}-TTTGTTGTCTTTGGAA-1")  # failed the authors' QC
            mat = rng.poisson(2.0, size=(len(GENES), len(cells)))
            payload = gzip.compress(dense_rds(mat, GENES, cells))  # GEO's second gzip
            info = tarfile.TarInfo(f"{gsm}_{sid}_umi_counts.RDS.gz")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    ct = pd.DataFrame(CELLTYPE_ROWS, columns=["CellID", "Sample", "ID", "CellType"])
    ct["CellType"] = pd.Categorical(ct["CellType"])
    table_rds(d / "celltype_meta_data_2025_01_08.RDS", ct)
    table_rds(
        d / "malignant_meta_data_2025_01_08.RDS",
        pd.DataFrame(MALIGNANT_ROWS, columns=["CellID", "Sample", "ID", "State", "isCC"]),
    )
    monkeypatch.setenv("NEUROSIG_MIRRORS", str(tmp_path / "mirror"))
    raw = yaml.safe_load(manifest_path().read_text())
    entry = copy.deepcopy(next(e for e in raw["datasets"] if e["id"] == ID))
    for f in entry["files"]:
        f.pop("sha256", None), f.pop("size", None)
    raw["datasets"] = [entry]
    return Manifest(validate_manifest(raw), tmp_path / "m.yaml"), d


def test_entry_loads_patients_timepoints_and_labels(gbmcare):
    manifest, _ = gbmcare
    a = load(ID, manifest=manifest, progress=False)
    assert a.n_obs == len(CELLTYPE_ROWS)  # the 3 QC-failed nuclei dropped
    obs = a.obs
    assert sorted(obs["patient"].unique()) == ["P3", "P53"]
    assert sorted(obs["sample"].unique()) == ["P3T1", "P3T2", "P53T1"]
    assert obs.groupby("patient", observed=True)["region"].unique().map(sorted).to_dict() == {
        "P3": ["T1", "T2"],
        "P53": ["T1"],
    }
    counts = obs["cell_type"].value_counts()
    assert counts["malignant"] == 3 and counts["myeloid"] == 2 and counts["neuron"] == 2
    assert counts["T_cell"] == 2 and counts["other"] == 1 and counts.get("unknown", 0) == 0
    mapped = dict(zip(obs["cell_type_author"], obs["cell_type"].astype(str), strict=True))
    assert mapped["Endothel"] == "endothelial" and mapped["Pericyte"] == "pericyte"
    assert mapped["OPC"] == "OPC" and mapped["Oligodendrocyte"] == "oligodendrocyte"
    states = obs.loc[obs["cell_type"] == "malignant", "author_State"].astype(str)
    assert sorted(states) == ["GPC", "Hypoxia", "MES"]
    assert a.obs_names[0].startswith("P3T1:COLUMBIA990051-")
    # counts as published (integers), and the report records the drop
    assert np.all(a.layers["counts"].data == np.round(a.layers["counts"].data))
    joins = a.uns["neurosig"]["obs_joins"]
    assert joins["celltype_meta_data_2025_01_08.RDS"]["cells_dropped"] == 3
    assert joins["malignant_meta_data_2025_01_08.RDS"]["cells_matched"] == 3


def test_every_author_label_maps(gbmcare):
    manifest, _ = gbmcare
    entry = manifest.get(ID)
    labels = {
        "Malignant",
        "TAM",
        "Oligodendrocyte",
        "Excitatory neuron",
        "Other",
        "Astrocyte",
        "OPC",
        "Inhibitory neuron",
        "Lymphocyte",
        "Endothel",
        "Pericyte",
    }  # all 11 in the real file
    assert set(entry["schema"]["cell_type_map"]) == labels
    assert "unknown" not in entry["schema"]["cell_type_map"].values()


def test_rds_matrix_reads_dense_and_refuses_other_objects(tmp_path):
    p = tmp_path / "x.RDS.gz"
    p.write_bytes(gzip.compress(dense_rds(np.array([[1, 0], [0, 3]]), ["A", "B"], ["c1", "c2"])))
    a = run_parser("rds_matrix", {"rds": p})
    assert list(a.obs_names) == ["c1", "c2"] and list(a.var_names) == ["A", "B"]
    np.testing.assert_array_equal(a.X.toarray(), [[1, 0], [0, 3]])
    q = tmp_path / "t.RDS"
    rdata.write_rds(q, pd.DataFrame({"a": [1]}))
    with pytest.raises(ParseError, match="not a genes x cells matrix"):
        run_parser("rds_matrix", {"rds": q})
    bad = tmp_path / "bad.RDS.gz"
    bad.write_bytes(b"not an rds")
    with pytest.raises(ParseError, match="not a readable R .rds"):
        run_parser("rds_matrix", {"rds": bad})


def test_region_reaches_a_paired_claim(gbmcare):
    """obs['region'] from the manifest is what a paired claim contrasts (T2 - T1 here)."""
    import warnings

    from neurosig.tl import test_claims

    manifest, _ = gbmcare
    a = load(ID, manifest=manifest, progress=False)
    doc = {
        "settings": {"min_cells_per_region": 1},
        "claims": {
            "recurrence_neurons": {
                "statement": "more neurons at recurrence",
                "level": "paired",
                "regions": ["T2", "T1"],
                "y": {"fraction": ["neuron"]},
                "proxy": "P3",
                "expected": "positive",
            }
        },
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = test_claims(a, doc, inplace=False).iloc[0]
    # only P3 has both timepoints: not testable, and the reason shows P3's log odds ratio
    assert row["verdict"] == "not testable"
    assert "1 patient(s) with both T2 and T1 (need 6)" in row["reason"] and "P3 " in row["reason"]
