"""Value scales, checks and the obs schema."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp

from neurosig.datasets.harmonise import harmonise, log_normalise, to_linear
from neurosig.errors import InputDataError, ManifestError

SCHEMA = {"patient": {"column": "donor"}, "cell_type_author": {"column": "label"}}


def toy(x, labels=("Malignant", "Macrophage"), donors=("P1", "P2")):
    obs = pd.DataFrame({"donor": list(donors), "label": list(labels)}, index=["c1", "c2"])
    return ad.AnnData(
        X=sp.csr_matrix(np.asarray(x, dtype=np.float32)),
        obs=obs,
        var=pd.DataFrame(index=["GFAP", "SOX2", "CD74"]),
    )


def test_x_equals_scanpy_normalize_total_log1p():
    rng = np.random.default_rng(0)
    counts = rng.poisson(3, size=(2, 3)).astype(np.float32) + 1
    out = harmonise(toy(counts), dataset_id="t", value_type="counts", schema=SCHEMA)
    ref = ad.AnnData(X=counts.copy())
    sc.pp.normalize_total(ref, target_sum=1e4)
    sc.pp.log1p(ref)
    np.testing.assert_allclose(out.X.toarray(), ref.X, rtol=1e-6)
    np.testing.assert_array_equal(out.layers["counts"].toarray(), counts)


def test_log2_tpm10_inverts_exactly():
    tpm = np.array([[0, 100, 900], [30, 0, 70]], dtype=np.float32)
    logged = np.log2(tpm / 10 + 1)
    back = to_linear(sp.csr_matrix(logged), "log2_tpm10").toarray()
    np.testing.assert_allclose(back, tpm, rtol=1e-5, atol=1e-4)
    out = harmonise(toy(logged), dataset_id="t", value_type="log2_tpm10", schema=SCHEMA)
    np.testing.assert_allclose(out.X.toarray(), log_normalise(tpm).toarray(), rtol=1e-5)
    assert "tpm" in out.layers


@pytest.mark.parametrize(
    ("x", "value_type", "message"),
    [
        ([[1, np.nan, 0], [1, 2, 3]], "counts", "NaN"),
        ([[1, -2, 0], [1, 2, 3]], "counts", "negative"),
        ([[1.5, 2, 0], [1, 2, 3]], "counts", "not integers"),
        ([[1.2, 2.3, 0], [1.1, 0.5, 3.3]], "tpm", "looks log-transformed"),
        ([[1000, 20000, 0], [1, 2, 3]], "log2_tpm10", "linear-scale"),
    ],
)
def test_bad_values_are_refused(x, value_type, message):
    with pytest.raises(InputDataError, match=message):
        harmonise(toy(x), dataset_id="t", value_type=value_type, schema=SCHEMA)


def test_obs_schema_and_labels():
    out = harmonise(toy([[1, 2, 3], [4, 5, 6]]), dataset_id="t", value_type="counts", schema=SCHEMA)
    assert list(out.obs["cell_type"]) == ["malignant", "macrophage"]
    assert list(out.obs["malignant"]) == [True, False]
    assert list(out.obs["cell_type_author"]) == ["Malignant", "Macrophage"]
    assert list(out.obs["sample"]) == ["P1", "P2"]  # defaults to the patient
    assert out.uns["neurosig"]["value_type"] == "counts"
    assert out.uns["neurosig"]["versions"]["anndata"] == ad.__version__


def test_unmapped_labels_strict_or_unknown():
    adata = toy([[1, 2, 3], [4, 5, 6]], labels=("Malignant", "Blob cells"))
    with pytest.raises(ManifestError, match="Blob cells"):
        harmonise(adata, dataset_id="t", value_type="counts", schema=SCHEMA)
    out = harmonise(adata, dataset_id="t", value_type="counts", schema=SCHEMA, strict_labels=False)
    assert list(out.obs["cell_type"]) == ["malignant", "unknown"]
    assert out.uns["neurosig"]["cells"]["unmapped_labels"] == ["Blob cells"]


def test_duplicated_cell_ids_and_missing_patient():
    adata = toy([[1, 2, 3], [4, 5, 6]])
    adata.obs_names = ["c1", "c1"]
    with pytest.raises(InputDataError, match="duplicated cell ids"):
        harmonise(adata, dataset_id="t", value_type="counts", schema=SCHEMA)
    adata = toy([[1, 2, 3], [4, 5, 6]], donors=("P1", None))
    with pytest.raises(InputDataError, match="no patient id"):
        harmonise(adata, dataset_id="t", value_type="counts", schema=SCHEMA)


def test_h5ad_round_trip(tmp_path):
    out = harmonise(toy([[1, 2, 3], [4, 5, 6]]), dataset_id="t", value_type="counts", schema=SCHEMA)
    out.write_h5ad(tmp_path / "x.h5ad")
    back = ad.read_h5ad(tmp_path / "x.h5ad")
    assert back.obs["malignant"].tolist() == [True, False]
    assert back.uns["neurosig"]["dataset_id"] == "t"


def test_patient_sample_region_rules():
    """Region is 'none' without a rule; a regex that misses raises unless a default is given."""
    a = toy(np.ones((2, 3)), donors=("GSM1_ndGBM-01-A", "GSM2_ndGBM-01-B"))
    schema = {
        "patient": {"column": "donor", "regex": "_(ndGBM-\\d+)"},
        "region": {"column": "donor", "regex": "-([A-Z])$"},
        "cell_type_author": {"column": "label"},
    }
    out = harmonise(a, dataset_id="t", value_type="counts", schema=schema)
    assert list(out.obs["patient"]) == ["ndGBM-01", "ndGBM-01"]
    assert list(out.obs["region"]) == ["A", "B"]
    assert list(out.obs["sample"]) == ["ndGBM-01_A", "ndGBM-01_B"]  # default: patient_region
    plain = harmonise(toy(np.ones((2, 3))), dataset_id="t", value_type="counts", schema=SCHEMA)
    assert list(plain.obs["region"]) == ["none", "none"] and list(plain.obs["sample"]) == ["P1", "P2"]
    bad = {**SCHEMA, "region": {"column": "donor", "regex": "^X(\\d)"}}
    with pytest.raises(InputDataError, match="does not match.*default"):
        harmonise(toy(np.ones((2, 3))), dataset_id="t", value_type="counts", schema=bad)
    mapped = {**SCHEMA, "region": {"column": "donor", "map": {"P1": "primary"}, "map_default": "none"}}
    out = harmonise(toy(np.ones((2, 3))), dataset_id="t", value_type="counts", schema=mapped)
    assert list(out.obs["region"]) == ["primary", "none"]


def test_malignant_states_give_state_author():
    schema = {**SCHEMA, "malignant_states": {"AC-like": "AC-like"}}
    out = harmonise(
        toy(np.ones((2, 3)), labels=("AC-like", "Macrophage")),
        dataset_id="t",
        value_type="counts",
        schema=schema,
    )
    assert list(out.obs["cell_type"]) == ["malignant", "macrophage"]
    assert list(out.obs["state_author"]) == ["AC-like", "none"]
    assert out.obs["malignant"].tolist() == [True, False]


@pytest.mark.parametrize("missing", ["nan", "NaN", "NA", "None", ""])
def test_patient_written_as_missing_text_is_refused(missing):
    """`astype(str)` writes a missing patient as 'nan': it used to become a patient."""
    x = [[1, 2, 3], [4, 5, 6]]
    with pytest.raises(InputDataError, match=r"1 cells have no patient id \(written as"):
        harmonise(toy(x, donors=("P1", missing)), dataset_id="t", value_type="counts", schema=SCHEMA)


def test_checks_in_blocks_give_the_whole_matrix_answers(monkeypatch):
    """Values checked in small blocks: the same counts and first offender as a whole-array check,
    and genes per cell as (X > 0).sum(1)."""
    import importlib

    mod = importlib.import_module("neurosig.datasets.harmonise")
    monkeypatch.setattr(mod, "_BLOCK", 3)
    rng = np.random.default_rng(1)
    counts = sp.random(40, 3, density=0.6, format="csr", random_state=2, dtype=np.float32)
    counts.data = np.round(counts.data * 9 + 1)
    counts.data[[7, 20, 33]] = [2.5, np.nan, np.inf]
    with pytest.raises(InputDataError, match="2 NaN or infinite"):
        mod.check_values(counts, "counts", "t")
    counts.data[[20, 33]] = [4.25, 3.0]
    with pytest.raises(InputDataError, match=r"2 values are not integers \(e.g. 2.5\)"):
        mod.check_values(counts, "counts", "t")
    counts.data[[7, 20]] = 0.0  # explicit zeros are stored but not detected
    obs = pd.DataFrame({"donor": rng.choice(["P1", "P2"], 40), "label": "Malignant"})
    obs.index = [f"c{i}" for i in range(40)]
    a = ad.AnnData(X=counts, obs=obs, var=pd.DataFrame(index=["GFAP", "SOX2", "CD74"]))
    out = harmonise(a, dataset_id="t", value_type="counts", schema=SCHEMA)
    np.testing.assert_array_equal(out.obs["n_genes"], np.asarray((counts > 0).sum(axis=1)).ravel())


def test_counts_normalised_in_place_give_the_same_x(monkeypatch):
    """keep_counts=False (an atlas run) log-normalises the counts in place, in row blocks:
    X equal to the copy path's to the last digit, and no counts layer."""
    import importlib

    mod = importlib.import_module("neurosig.datasets.harmonise")
    monkeypatch.setattr(mod, "_BLOCK", 7)  # many blocks
    counts = sp.random(40, 3, density=0.7, format="csr", random_state=5, dtype=np.float32)
    counts.data = np.round(counts.data * 30 + 1)
    obs = pd.DataFrame({"donor": ["P1", "P2"] * 20, "label": "Malignant"}, index=[f"c{i}" for i in range(40)])
    var = pd.DataFrame(index=["GFAP", "SOX2", "CD74"])
    kept = harmonise(
        ad.AnnData(X=counts.copy(), obs=obs, var=var), dataset_id="t", value_type="counts", schema=SCHEMA
    )
    dropped = harmonise(
        ad.AnnData(X=counts.copy(), obs=obs, var=var),
        dataset_id="t",
        value_type="counts",
        schema=SCHEMA,
        keep_counts=False,
    )
    np.testing.assert_array_equal(kept.X.toarray(), dropped.X.toarray())
    assert "counts" in kept.layers and not dropped.layers
    assert not dropped.uns["neurosig"]["linear_layer"] and "not kept" in dropped.uns["neurosig"]["transform"]
    assert kept.obs.equals(dropped.obs)
