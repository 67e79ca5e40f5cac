"""`neurosig run` on a bulk cohort: one row per sample in patient_scores.csv, the AnnData contract."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from neurosig.cli import main


@pytest.fixture(scope="module")
def donson_run(tmp_path_factory, offline_session):
    from ..conftest import HAS_MIRROR

    if not HAS_MIRROR:
        pytest.skip("offline mirror not found")
    out = tmp_path_factory.mktemp("donson_run")
    result = CliRunner().invoke(
        main, ["run", "--dataset", "gliovis_donson2012", "--out", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    return out


def test_outputs_and_one_row_per_sample(donson_run):
    names = {p.name for p in donson_run.iterdir()}
    assert {"samples.h5ad", "patient_scores.csv", "patient_scores.parquet", "patient_scores.schema.json",
            "provenance.json"} <= names  # fmt: skip
    table = pd.read_csv(donson_run / "patient_scores.csv")
    assert len(table) == 26 and table["sample"].is_unique
    assert table.columns[:4].tolist() == ["dataset", "patient", "sample", "region"]
    for col in ("subtype_wang2017", "estimate_purity", "os_months", "os_event",
                "ssgsea__MHC_I_machinery", "ucell__MHC_I_machinery", "wang2017_Mesenchymal_p"):  # fmt: skip
        assert col in table, col
    assert set(table["subtype_wang2017"]) <= {"Proneural", "Classical", "Mesenchymal"}
    schema = json.loads((donson_run / "patient_scores.schema.json").read_text())
    assert schema["primaryKey"] == ["dataset", "sample"]
    assert {f["name"] for f in schema["fields"]} == set(table.columns)
    assert all(f["description"] for f in schema["fields"])


def test_anndata_contract(donson_run):
    a = ad.read_h5ad(donson_run / "samples.h5ad")
    meta = a.uns["neurosig"]
    assert meta["modality"] == "bulk" and meta["transform"].startswith("X = log2")
    assert "HLA-A" in a.var_names
    for col in ("patient", "sample", "region", "cohort", "histology", "grade", "idh", "subtype",
                "os_months", "os_event", "age", "purity", "subtype_wang2017", "estimate_purity"):  # fmt: skip
        assert col in a.obs, col
    scores = a.obsm["neurosig_ssgsea"]
    assert isinstance(scores, pd.DataFrame) and scores.shape[0] == 26 and "MHC_I_machinery" in scores
    table = pd.read_csv(donson_run / "patient_scores.csv").set_index("sample")
    np.testing.assert_allclose(
        table.loc[a.obs_names, "ssgsea__MHC_I_machinery"], scores["MHC_I_machinery"], rtol=1e-5
    )
    cov = meta["scores"]["neurosig_ssgsea"]["coverage"]  # a table in the file (one row per signature)
    assert cov.loc["MHC_I_machinery", "fraction"] > 0.5
    evidence = meta["claims"]["evidence"]  # the tumour-level and survival claims ran
    assert set(evidence["data_type"]) == {"bulk"} and {"B1_bulk", "S1"} <= set(evidence["claim"])


def test_provenance_has_agreement_and_caveats(donson_run):
    prov = json.loads((donson_run / "provenance.json").read_text())
    wang = prov["tumour_scores"]["wang2017"]
    assert wang["agreement"]["n_samples"] == 21 and wang["agreement"]["n_agree"] >= 19
    est = prov["tumour_scores"]["estimate"]
    assert est["platform_affymetrix"] is True and est["purity_calibrated"] is False
    assert prov["tumour_scores"]["survival"]["available"] is True


def test_export_again_from_the_written_h5ad(donson_run, tmp_path):
    """The workflow's export stage reads the AnnData back from h5ad (lists come back as arrays)."""
    from neurosig.export import write_run

    written = write_run(ad.read_h5ad(donson_run / "samples.h5ad"), tmp_path / "again")
    assert {"patient_scores.csv", "provenance.json"} <= set(written)
    pd.testing.assert_frame_equal(
        pd.read_csv(written["patient_scores.csv"]), pd.read_csv(donson_run / "patient_scores.csv")
    )
