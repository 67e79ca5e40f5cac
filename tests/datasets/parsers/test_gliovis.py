"""GlioVis cohort .Rds files and the GliomaAtlas3D files, on the real mirrored bytes.

Bad input (transposed matrices, duplicated sample ids, missing clinical columns) is made
from the real R objects (read once with rdata, then altered) and run through the same
parser, so the id rules and orientation checks meet the published layout.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from neurosig.datasets.parsers import gliovis, run_parser
from neurosig.errors import InputDataError, ParseError

from ...conftest import needs_mirror


@pytest.fixture(scope="module")
def donson_raw(offline_session):
    from ...conftest import HAS_MIRROR, MIRROR

    if not HAS_MIRROR:
        pytest.skip("offline mirror not found")
    return gliovis._read_rds(MIRROR / "gliovis_bulk" / "Donson.Rds")


def _parse(monkeypatch, tmp_path, obj):
    monkeypatch.setattr(gliovis, "_read_rds", lambda path: copy.deepcopy(obj))
    return run_parser("gliovis_rds", {"rds": tmp_path / "cohort.Rds"})


@needs_mirror
def test_donson_layout(mirror):
    a = run_parser("gliovis_rds", {"rds": mirror / "gliovis_bulk" / "Donson.Rds"})
    # 26 samples x 20,163 expr columns, of which 8 repeat clinical fields: 20,155 genes
    assert a.shape == (26, 20155)
    assert a.obs_names[:3].tolist() == ["GSM824273", "GSM824274", "GSM824275"]
    assert a.var_names[:3].tolist() == ["A1BG", "A1BG.AS1", "A1CF"]  # R's names, read later
    np.testing.assert_allclose(a.X[0, :3], [5.7013, 5.4891, 6.1693], rtol=1e-5)
    np.testing.assert_allclose(a.X[:3, a.var_names.get_loc("HLA.A")], [13.6856, 14.113, 14.207], rtol=1e-5)
    assert a.uns["parser"]["clinical_columns_repeated_in_expr"][:2] == ["Sample", "Histology"]
    assert a.obs.loc["GSM824275", "Subtype.ssgsea"] == "Mesenchymal"


@needs_mirror
def test_bender_clinical_rows_in_another_order(mirror):
    """Bender's pData lists the samples in another order than expr: joined on Sample, not by row."""
    a = run_parser("gliovis_rds", {"rds": mirror / "gliovis_bulk" / "Bender.Rds"})
    assert a.obs_names[0] == "dkfz_13-003"
    assert a.obs.loc["dkfz_13-003", "H3F3A_status"] == "K27M"
    assert int(a.obs.loc["dkfz_13-003", "Age"]) == 24
    assert int(a.obs.loc["dkfz_11-035", "Age"]) == 14


@needs_mirror
def test_ducray_samples_without_clinical_row_keep_expr_fields(mirror):
    a = run_parser("gliovis_rds", {"rds": mirror / "gliovis_bulk" / "Ducray.Rds"})
    assert a.uns["parser"]["samples_without_clinical_row"] == ["FB012", "FB421", "FB422", "FB560"]
    assert a.uns["parser"]["clinical_rows_without_expression"] == ["FB004", "FB010", "FB102", "FB105"]
    assert float(a.obs.loc["FB012", "survival"]) == 6.6  # from the columns expr repeats
    assert float(a.obs.loc["FB006", "survival"]) == 3.3  # from pData


@needs_mirror
def test_genes_by_samples_is_detected_by_symbols(donson_raw, monkeypatch, tmp_path):
    plain = _parse(monkeypatch, tmp_path, donson_raw)
    flipped = copy.deepcopy(donson_raw)
    expr = flipped["expr"]
    genes = [
        c for c in expr.columns if str(c) not in set(flipped["pData"].columns) and expr[c].dtype == float
    ]
    flipped["expr"] = expr[genes].T  # a genes x samples matrix without the repeated clinical columns
    b = _parse(monkeypatch, tmp_path, flipped)
    assert b.shape == plain.shape
    assert b.obs_names.equals(plain.obs_names) and b.var_names.equals(plain.var_names)
    np.testing.assert_array_equal(b.X, plain.X)


@needs_mirror
def test_no_axis_of_symbols_is_refused(donson_raw, monkeypatch, tmp_path):
    bad = copy.deepcopy(donson_raw)
    bad["expr"].columns = [f"probe_{i}" for i in range(bad["expr"].shape[1])]
    with pytest.raises(InputDataError, match="cannot tell genes from samples"):
        _parse(monkeypatch, tmp_path, bad)


@needs_mirror
def test_duplicated_sample_ids_are_refused(donson_raw, monkeypatch, tmp_path):
    bad = copy.deepcopy(donson_raw)
    ids = list(bad["expr"].index)
    ids[1] = ids[0]
    bad["expr"].index = ids
    with pytest.raises(InputDataError, match="appear twice in 'expr'.*GSM824273"):
        _parse(monkeypatch, tmp_path, bad)
    bad = copy.deepcopy(donson_raw)
    bad["pData"].loc[bad["pData"].index[1], "Sample"] = "GSM824273"
    with pytest.raises(InputDataError, match="appear twice in 'pData'"):
        _parse(monkeypatch, tmp_path, bad)


def test_not_an_rds(tmp_path):
    path = tmp_path / "x.Rds"
    path.write_bytes(b"not R data")
    with pytest.raises(ParseError, match="not a readable R data file"):
        run_parser("gliovis_rds", {"rds": path})


@needs_mirror
def test_atlas3d_joins_samples_and_tumours(mirror):
    root = mirror / "gliomaatlas3d"
    files = {
        "samples": root / "metadata" / "sampledata_v12.rds",
        "tumours": root / "metadata" / "tumordata_v12.rds",
        "rna_P260": root / "datasets" / "Patient260" / "sf11294" / "rna.rds",
        "celltypes_P260": root / "datasets" / "Patient260" / "sf11294" / "celltypes.rds",
    }
    a = run_parser("atlas3d", files)
    assert a.shape == (19, 16000)  # P260 has 20 samples in sampledata, 19 with RNA
    assert a.obs_names[0] == "P260v1" and a.var_names[:2].tolist() == ["A1BG", "A2M"]
    np.testing.assert_allclose(a.X[0, :2], [5.678276, 611.79613], rtol=1e-5)  # TPM
    assert a.obs.loc["P260v1", "tumour_Histology"] == "GBM"
    np.testing.assert_allclose(
        a.obs.loc["P260v1", ["FACETS", "DistPeriph"]].astype(float), [0.733619, 1.0], rtol=1e-5
    )
    np.testing.assert_allclose(float(a.obs.loc["P260v1", "celltype_astrocytes"]), 0.002727, atol=1e-6)
