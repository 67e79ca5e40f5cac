"""Loading real datasets into the harmonised schema, and bad label files."""

from __future__ import annotations

import copy
import shutil

import anndata as ad
import numpy as np
import pytest
import yaml

from neurosig._resources import manifest_path
from neurosig.datasets import default_dataset, load, load_h5ad
from neurosig.datasets.manifest import Manifest, validate_manifest
from neurosig.errors import InputDataError

from ..conftest import needs_mirror

SCHEMA_COLUMNS = {
    "dataset",
    "patient",
    "sample",
    "cell_type",
    "cell_type_author",
    "lineage",
    "malignant",
}


def check_scale(a: ad.AnnData) -> None:
    """X is log1p(CP10k): per-cell expm1 sums to 1e4."""
    sums = np.expm1(a.X.toarray().astype(np.float64)).sum(1)
    np.testing.assert_allclose(sums[sums > 0], 1e4, rtol=1e-3)


@needs_mirror
def test_tirosh2016_from_mirror():
    a = load("tirosh2016_oligodendroglioma")
    assert a.shape == (184, 10338)
    assert SCHEMA_COLUMNS <= set(a.obs.columns)
    counts = a.obs["cell_type"].value_counts()
    assert counts["malignant"] == 142 and counts["myeloid"] == 19 and counts["oligodendrocyte"] == 23
    assert a.obs["malignant"].sum() == 142
    assert a.obs.groupby("patient", observed=True).size().to_dict() == {
        "MGH36": 41,
        "MGH53": 57,
        "MGH54": 11,
        "MGH93": 40,
        "MGH97": 35,
    }
    assert (
        a.obs.loc[a.obs["cell_type"] == "malignant", "cell_type_author"].str.startswith("malignant_")
    ).all()
    assert {"chromosome", "start", "end"} <= set(a.var.columns)
    check_scale(a)
    prov = a.uns["neurosig"]
    assert prov["files"]["oligodendroglioma_annotations_downsampled.txt"].startswith("345493e0")
    assert prov["dataset"]["doi"] == "10.1038/nature20123" and prov["linear_layer"] == "tpm"


def test_tirosh2016_from_infercnvpy_wheel():
    a = load("tirosh2016_oligodendroglioma_infercnvpy")
    assert a.n_obs == 184
    counts = a.obs["cell_type"].value_counts()
    assert counts["malignant"] == 142 and counts["myeloid"] == 19 and counts["oligodendrocyte"] == 23
    check_scale(a)


@needs_mirror
def test_neftel_mgh136_joined_to_ss2_metadata():
    a = load("neftel2019_mgh136")
    assert a.shape[0] == 229 and (a.obs["cell_type"] == "malignant").all()
    assert (a.obs["patient"] == "MGH136").all()
    assert (a.obs["region"] == "none").all() and (a.obs["sample"] == "MGH136").all()
    # the MGH136- vs MGH136CD45neg- ids joined every cell to its published scores
    assert a.obs["author_MESlike2"].notna().all()
    assert a.uns["neurosig"]["obs_joins"]["IDHwt.GBM.Metadata.SS2.txt"]["cells_missing"] == 0
    # log2(TPM/10+1) brought back to TPM: recovered values are non-negative and finite
    assert a.layers["tpm"].data.min() > 0
    check_scale(a)


@needs_mirror
def test_darmanis2015_brain():
    a = load("darmanis2015_brain")
    counts = a.obs["cell_type"].value_counts()
    assert counts["neuron"] == 131 and counts["astrocyte"] == 62 and counts["microglia"] == 16
    assert counts["other"] == 46 + 110 + 25  # hybrid and fetal cells
    assert a.obs["patient"].nunique() == 12  # 8 adults (AB_S*), 4 fetal (FB_S*)
    # cortex and hippocampus of AB_S5 and AB_S8 are two regions of one person
    assert a.obs.groupby(["patient", "region"], observed=True).size()[["AB_S5", "AB_S8"]].to_dict() == {
        ("AB_S5", "cortex"): 33,
        ("AB_S5", "hippocampus"): 11,
        ("AB_S8", "cortex"): 33,
        ("AB_S8", "hippocampus"): 25,
    }
    assert a.obs["sample"].nunique() == 14
    assert np.all(a.layers["counts"].data == np.round(a.layers["counts"].data))
    # library sizes are genes only: HTSeq's summary rows (77% of a median cell) are gone
    assert not {"no_feature", "ambiguous", "alignment_not_unique"} & set(a.var_names)
    assert a.uns["neurosig"]["parser"]["dropped_summary_rows"] == [
        "no_feature",
        "ambiguous",
        "alignment_not_unique",
    ]
    assert a.obs["total_linear"].median() == 519020
    check_scale(a)


def _manifest_with(tmp_path, mirror, dataset_id, entry_edit=None) -> Manifest:
    raw = yaml.safe_load(manifest_path().read_text())
    entry = copy.deepcopy(next(d for d in raw["datasets"] if d["id"] == dataset_id))
    if entry_edit:
        entry_edit(entry)
    raw["datasets"] = [entry]
    return Manifest(validate_manifest(raw), tmp_path / "m.yaml")


@pytest.fixture
def tirosh_copy(tmp_path, mirror, monkeypatch):
    """A writable mirror copy of the Tirosh files and a manifest without their pinned hashes."""
    dst = tmp_path / "mirror" / "tirosh2016_oligodendroglioma"
    shutil.copytree(mirror / "tirosh2016_oligodendroglioma", dst)
    monkeypatch.setenv("NEUROSIG_MIRRORS", str(tmp_path / "mirror"))

    def unpin(entry):
        for f in entry["files"]:
            f.pop("sha256"), f.pop("size")
        entry["verification"] = "unverified"

    manifest = _manifest_with(tmp_path, mirror, "tirosh2016_oligodendroglioma", entry_edit=unpin)
    return dst / "oligodendroglioma_annotations_downsampled.txt", manifest


def test_label_file_missing_cells(tirosh_copy):
    ann, manifest = tirosh_copy
    ann.write_text("".join(ann.read_text().splitlines(keepends=True)[:-3]))
    with pytest.raises(InputDataError, match="3 of 184 cells .* missing from the label file"):
        load("tirosh2016_oligodendroglioma", manifest=manifest)


def test_duplicated_ids_in_label_file(tirosh_copy):
    ann, manifest = tirosh_copy
    lines = ann.read_text().splitlines(keepends=True)
    ann.write_text("".join(lines + lines[:1]))
    with pytest.raises(InputDataError, match="lists 1 cell ids twice"):
        load("tirosh2016_oligodendroglioma", manifest=manifest)


def test_user_h5ad(tmp_path):
    src = load("tirosh2016_oligodendroglioma_infercnvpy")
    user = ad.AnnData(
        X=src.layers["tpm"],
        obs=src.obs[["patient", "cell_type_author"]].astype(str),
        var=src.var[[]],
    )
    user.obs.columns = ["donor", "annotation"]
    user.write_h5ad(tmp_path / "mine.h5ad")
    with pytest.raises(InputDataError, match="value_type"):
        load_h5ad(tmp_path / "mine.h5ad", patient_key="donor")
    a = load_h5ad(tmp_path / "mine.h5ad", patient_key="donor", label_key="annotation", value_type="tpm")
    assert a.obs["patient"].nunique() == 5
    # labels outside the vocabulary (malignant_MGH36, ...) are unknown and reported, not dropped
    assert a.n_obs == 184 and "malignant_MGH36" in a.uns["neurosig"]["cells"]["unmapped_labels"]
    assert (a.obs["cell_type"] == "oligodendrocyte").sum() == 23


def test_default_dataset_follows_the_mirror(monkeypatch):
    assert default_dataset() in {
        "tirosh2016_oligodendroglioma",
        "tirosh2016_oligodendroglioma_infercnvpy",
    }
    monkeypatch.setenv("NEUROSIG_MIRRORS", "")
    assert default_dataset() == "tirosh2016_oligodendroglioma_infercnvpy"


def test_dense_user_h5ad_is_read(published_h5ad, tmp_path):
    """A dense X crashed the value-type detection (`'memoryview' object has no attribute
    'size'`: a numpy array's .data is a memoryview), with or without integer counts."""
    with pytest.raises(InputDataError, match="--value-type"):
        load_h5ad(published_h5ad, patient_key="donor")
    a = load_h5ad(published_h5ad, patient_key="donor", value_type="log2_tpm10")
    assert a.n_obs == 100 and a.n_vars == 2000
    check_scale(a)
    user = ad.read_h5ad(published_h5ad)
    tpm = 10 * (np.exp2(user.X.astype(np.float64)) - 1)
    counts = ad.AnnData(X=np.round(tpm).astype(np.int64), obs=user.obs, var=user.var)
    counts.write_h5ad(tmp_path / "counts.h5ad")
    b = load_h5ad(tmp_path / "counts.h5ad", patient_key="donor")  # dense integers: counts, detected
    assert b.uns["neurosig"]["value_type"] == "counts" and b.n_obs == 100


def test_single_sample_file_names_its_patient(published_h5ad):
    a = load_h5ad(published_h5ad, patient="MGH36_biopsy", value_type="log2_tpm10")
    assert set(a.obs["patient"]) == {"MGH36_biopsy"} and set(a.obs["sample"]) == {"MGH36_biopsy"}
    with pytest.raises(InputDataError, match="one of the two"):
        load_h5ad(published_h5ad, patient="x", patient_key="donor", value_type="log2_tpm10")


def test_raw_is_read_when_x_is_a_gene_subset(published_h5ad, tmp_path):
    """An HVG-subset X with every gene in .raw: .raw is read, and the loader says so."""
    user = ad.read_h5ad(published_h5ad)
    user.raw = user
    subset = user[:, user.X.var(axis=0).argsort()[-300:]].copy()
    subset.write_h5ad(tmp_path / "hvg.h5ad")
    with pytest.warns(UserWarning, match=r"read \.raw \(2,000 genes\) instead of X \(300 genes"):
        a = load_h5ad(tmp_path / "hvg.h5ad", patient_key="donor", value_type="log2_tpm10")
    assert a.n_vars == 2000 and a.uns["neurosig"]["dataset"]["layer"] == "raw"
    assert any(".raw" in n for n in a.uns["neurosig"]["notices"])


def test_empty_cells_mouse_case_and_unmapped_labels_are_reported(published_h5ad, tmp_path):
    """All-zero cells used to keep their label and count in n_cells; mouse-case symbols of
    key genes silently missed their signatures; unmapped author labels became 'unknown'
    without a word."""
    user = ad.read_h5ad(published_h5ad)
    user.X[:3] = 0
    mouse = {"B2M": "B2m", "HLA-A": "Hla-a", "CD74": "Cd74", "TAP1": "Tap1"}
    user.var_names = [mouse.get(g, g) for g in user.var_names]
    user.obs["celltype"] = user.obs["celltype"].replace({"Microglia/Macrophage": "Tumour-assoc. myeloid"})
    user.write_h5ad(tmp_path / "messy.h5ad")
    with pytest.warns(UserWarning) as record:
        a = load_h5ad(
            tmp_path / "messy.h5ad", patient_key="donor", label_key="celltype", value_type="log2_tpm10"
        )
    said = " ".join(str(w.message) for w in record)
    assert a.n_obs == 97 and a.uns["neurosig"]["cells"]["empty_cells_dropped"] == 3
    assert "dropped 3 cells with no expression" in said
    present = [m for g, m in mouse.items() if m != g and m in set(user.var_names)]
    assert present and all(m in said for m in present) and "mouse case" in said
    assert "Tumour-assoc. myeloid" in said and "malignant_MGH36" in said
    assert a.uns["neurosig"]["notices"] == [str(w.message).split(": ", 1)[1].rstrip(".") for w in record]
