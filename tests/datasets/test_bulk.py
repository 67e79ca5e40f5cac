"""The bulk schema: one row per sample, log2 on one recorded scale, clinical fields harmonised."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurosig.datasets import load
from neurosig.datasets.bulk import harmonise_bulk, r_names_to_symbols
from neurosig.errors import InputDataError

from ..conftest import needs_mirror


@pytest.fixture(scope="module")
def donson(offline_session):
    from ..conftest import HAS_MIRROR

    if not HAS_MIRROR:
        pytest.skip("offline mirror not found")
    return load("gliovis_donson2012", progress=False)


def test_r_names_become_symbols():
    names, changed = r_names_to_symbols(pd.Index(["HLA.A", "A1BG.AS1", "CD274", "HLA.A29.1", "HLA.DRB1"]))
    assert list(names[:3]) == ["HLA-A", "A1BG-AS1", "CD274"]
    assert names[3] == "HLA.A29.1"  # no symbol HLA-A29-1: kept as written
    assert changed == {"HLA.A": "HLA-A", "A1BG.AS1": "A1BG-AS1", "HLA.DRB1": "HLA-DRB1"}


@needs_mirror
def test_donson_schema(donson):
    a = donson
    assert a.n_obs == 26 and a.uns["neurosig"]["modality"] == "bulk"
    assert a.uns["neurosig"]["transform"].startswith("X = log2 expression as published")
    for col in ("patient", "sample", "region", "cohort", "histology", "grade", "idh", "subtype",
                "os_months", "os_event", "age", "purity"):  # fmt: skip
        assert col in a.obs, col
    assert (a.obs["region"] == "none").all() and (a.obs["cohort"] == "gliovis_donson2012").all()
    assert "HLA-A" in a.var_names and "HLA.A" not in a.var_names
    np.testing.assert_allclose(a[:3, "HLA-A"].X.ravel(), [13.6856, 14.113, 14.207], rtol=1e-5)
    assert a.obs.loc["GSM824275", "subtype"] == "Mesenchymal"
    assert a.obs["os_months"].notna().sum() == 26 and set(a.obs["os_event"]) == {1.0}
    assert a.uns["neurosig"]["survival"] == {"available": True, "n_samples": 26, "n_events": 26, "reason": ""}
    assert a.obs["purity"].isna().all()


@needs_mirror
def test_cohort_without_survival_says_so():
    a = load("gliovis_li2014", progress=False)
    surv = a.uns["neurosig"]["survival"]
    assert surv["available"] is False and "no overall survival" in surv["reason"]
    assert a.obs["os_months"].isna().all()


@needs_mirror
def test_primary_and_recurrence_share_a_patient():
    a = load("gliovis_kwon2015", progress=False)
    assert a.obs.loc["GBM009_Rc", "patient"] == a.obs.loc["GBM003_Pr", "patient"] == "GBM003_Pr"
    assert a.obs["patient"].nunique() == 43 - 15  # 15 matched primary/recurrence pairs


def test_duplicated_samples_and_bad_scale_are_refused(donson):
    dup = donson.copy()
    dup.obs_names = [donson.obs_names[0]] * 2 + list(donson.obs_names[2:])
    schema = {"patient": {"column": "patient"}}
    with pytest.raises(InputDataError, match="duplicated sample ids"):
        harmonise_bulk(dup, dataset_id="x", value_type="log2_intensity", schema=schema)
    lin = donson.copy()
    lin.X = np.exp2(lin.X) * 100
    with pytest.raises(InputDataError, match="declared log2 intensities"):
        harmonise_bulk(lin, dataset_id="x", value_type="log2_intensity", schema=schema)
    with pytest.raises(InputDataError, match="looks log-transformed"):
        harmonise_bulk(donson, dataset_id="x", value_type="tpm", schema=schema)


@needs_mirror
def test_atlas_regions_purity_and_distances(mirror):
    """Two of the atlas' 17 tumours through the manifest entry's parser and schema (all 17: ~15 s)."""
    from neurosig.datasets import get_manifest
    from neurosig.datasets.parsers import run_parser

    entry = get_manifest().get("hilz_gliomaatlas3d")
    step = entry["load"]["matrix"][0]
    by_name = {f["name"]: f for f in entry["files"]}
    keep = {r: n for r, n in step["files"].items() if not r.startswith(("rna_", "celltypes_"))}
    keep.update({r: n for r, n in step["files"].items() if r.endswith(("_P260", "_P303"))})
    files = {r: mirror / entry["mirror_dir"] / by_name[n]["path"] for r, n in keep.items()}
    raw = run_parser(step["parser"], files)
    a = harmonise_bulk(raw, dataset_id=entry["id"], value_type=entry["value_type"], schema=entry["schema"],
                       modality=entry["modality"])  # fmt: skip
    assert a.shape == (19 + 8, 15999) and a.obs["patient"].nunique() == 2
    assert a.uns["neurosig"]["modality"] == "multi_region"
    assert a.uns["neurosig"]["transform"] == "X = log2(TPM + 1) of the published TPM"
    row = a.obs.loc["P260v1"]
    assert (row["patient"], row["region"], row["grade"], row["idh"]) == ("P260", "v1", "IV", "mutant")
    assert a.obs.loc["P303v1", "idh"] == "mutant" and a.obs.loc["P303v1", "grade"] == "II"
    np.testing.assert_allclose([row["purity"], row["dist_periphery"]], [0.733619, 1.0], rtol=1e-5)
    np.testing.assert_allclose(a[0, "A2M"].X.ravel(), np.log2(611.79613 + 1), rtol=1e-5)
    # the authors' cell-type enrichment scores stay numbers
    assert a.obs["author_celltype_neuron"].dtype == float
    np.testing.assert_allclose(a.obs.loc["P260v1", "author_celltype_astrocytes"], 0.002727, atol=1e-6)


@needs_mirror
def test_schema_without_survival_fields_says_so(donson):
    schema = {"patient": {"column": "patient"}, "histology": {"column": "histology"}}
    a = harmonise_bulk(donson, dataset_id="x", value_type="log2_intensity", schema=schema)
    assert a.uns["neurosig"]["survival"]["available"] is False
    assert a.obs["os_months"].isna().all() and a.obs["os_event"].isna().all()


@needs_mirror
def test_nested_mirror_path_is_fetched_and_verified():
    from neurosig.datasets import fetch_file, get_manifest

    entry = get_manifest().get("hilz_gliomaatlas3d")
    path = fetch_file(entry, "P260_sf11294_rna.rds", progress=False)
    assert path.parts[-4:] == ("datasets", "Patient260", "sf11294", "rna.rds")


@needs_mirror
def test_glioblastoma_without_published_grade_is_grade_iv(donson):
    """Donson publishes no grade: its 21 GBMs are WHO grade IV by definition, its 5 astrocytomas stay NA."""
    assert (donson.obs.loc[donson.obs["histology"] == "GBM", "grade"] == "IV").all()
    assert donson.obs.loc[donson.obs["histology"] == "Astrocytoma", "grade"].isna().all()
    assert donson.uns["neurosig"]["samples"]["grade_iv_from_histology"] == 21


@needs_mirror
def test_non_tumour_samples_are_left_out_and_counted():
    """Grzmil 2011 holds two samples whose histology is 'Non-tumor' (normal brain): no tumours."""
    with pytest.warns(UserWarning, match="2 samples whose histology says they are not tumour"):
        a = load("gliovis_grzmil2011")
    assert "Non-tumor" not in set(a.obs["histology"].astype(str))
    assert a.n_obs == 30 and a.uns["neurosig"]["non_tumour_samples_dropped"] == {"Non-tumor": 2}
