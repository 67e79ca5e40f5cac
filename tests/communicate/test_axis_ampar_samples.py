"""Axis claims, calcium-permeable AMPAR fractions, per-sample tables, storage in .uns."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from neurosig.communicate import cellphonedb_by_sample, cp_ampar_fractions, interaction_matrix
from neurosig.errors import InputDataError
from neurosig.knowledge import claim_ids, load_axis, sender_proxy
from neurosig.tl import communicate

from ..conftest import needs_mirror


def test_axis_file_covers_c1_to_c12_with_vocabulary_terms():
    axis = load_axis()
    assert list(axis["claims"]) == [f"C{i}" for i in range(1, 13)]
    assert axis["claims"]["C12"]["pairs"] == []


def test_claim_ids_of_review_pairs():
    res = pd.DataFrame(
        {
            "ligand": ["NLGN3", "BDNF", "SLC17A7_GLS", "CD274", "IL1B", "CD274", "SLC1A2_GLS"],
            "ligand_complex": [
                "NLGN3",
                "BDNF",
                "Glutamate_byGLS_and_SLC17A7",
                "CD274",
                "IL1B",
                "CD274",
                "Glutamate_byGLS_and_SLC1A2",
            ],
            "receptor": ["NRXN1", "NTRK2", "GRIA3", "PDCD1", "IL1R1_IL1RAP", "CD80", "GRIK2"],
        }
    )
    assert claim_ids(res).tolist() == ["C1", "C2;C5", "C3", "C6", "C5;C11", "", ""]


def test_glutamate_sender_proxies_are_told_apart():
    assert sender_proxy("SLC17A7_GLS", "Glutamate_byGLS_and_SLC17A7") == "vesicular"
    assert sender_proxy("SLC1A2_GLS", "Glutamate_byGLS_and_SLC1A2") == "plasma_membrane"
    assert sender_proxy("PTGES", "ProstaglandinE2_byPTGES") == "enzyme_only"
    assert sender_proxy("CD274", "CD274") == ""


def _ampar_toy() -> ad.AnnData:
    genes = ["GRIA1", "GRIA2", "GRIA3", "GRIA4", "CD274", "PDCD1"]
    x = np.zeros((8, 6), dtype=np.float32)
    x[0, 0] = 1  # GRIA1 only: calcium-permeable
    x[1, [0, 1]] = 1  # GRIA1 + GRIA2: not
    x[2, 3] = 1  # GRIA4 only: permeable
    x[3, 1] = 1  # GRIA2 only
    obs = pd.DataFrame(
        {"cell_type": ["malignant"] * 4 + ["neuron"] * 4, "patient": ["P1", "P1", "P2", "P2"] * 2},
        index=[f"c{i}" for i in range(8)],
    )
    a = ad.AnnData(sp.csr_matrix(x), obs=obs)
    a.var_names = genes
    return a


def test_cp_ampar_fractions_by_hand():
    cp = cp_ampar_fractions(_ampar_toy()).set_index("group")
    mal = cp.loc["malignant"]
    assert mal["n_cells"] == 4
    assert mal["frac_ampar"] == pytest.approx(3 / 4)  # cells 0, 1, 2
    assert mal["frac_gria2"] == pytest.approx(2 / 4)
    assert mal["frac_cp_ampar"] == pytest.approx(2 / 4)  # cells 0 and 2
    assert mal["frac_cp_among_ampar"] == pytest.approx(2 / 3)
    assert np.isnan(cp.loc["neuron", "frac_cp_among_ampar"])  # no AMPAR at all
    by = cp_ampar_fractions(_ampar_toy(), sample_key="patient").set_index(["sample", "group"])
    assert by.loc[("P1", "malignant"), "frac_cp_ampar"] == pytest.approx(0.5)
    assert by.loc[("P2", "malignant"), "frac_cp_ampar"] == pytest.approx(0.5)


def test_cp_ampar_needs_gria2():
    a = _ampar_toy()[:, [0, 2, 3, 4, 5]].copy()
    with pytest.raises(InputDataError, match="GRIA2 is not among the genes"):
        cp_ampar_fractions(a)


@pytest.fixture(scope="module")
def tirosh():
    from neurosig.datasets.load import load
    from tests.conftest import HAS_MIRROR

    if not HAS_MIRROR:
        pytest.skip("mirror needed")
    return load("tirosh2016_oligodendroglioma")


@needs_mirror
def test_per_sample_tables_skip_and_list_single_type_patients(tirosh):
    per = cellphonedb_by_sample(tirosh, "cell_type", "patient", n_perms=50)
    # MGH93 and MGH97 hold malignant cells only: skipped with the reason, not dropped silently
    assert set(per.attrs["skipped_samples"]) == {"MGH93", "MGH97"}
    assert "at least two groups" in per.attrs["skipped_samples"]["MGH93"]
    assert set(per["sample"]) == {"MGH36", "MGH53", "MGH54"}
    wide = interaction_matrix(per, samples=sorted(tirosh.obs["patient"].unique()))
    assert wide.shape[0] == 5
    assert wide.loc["MGH93"].isna().all() and not wide.loc["MGH36"].isna().any()
    # a sample's values equal running the method on that sample alone
    from neurosig.communicate import cellphonedb
    from neurosig.communicate.axis import add_axis_columns

    alone = add_axis_columns(cellphonedb(tirosh[tirosh.obs["patient"] == "MGH36"], n_perms=50))
    mine = per[per["sample"] == "MGH36"].drop(columns="sample").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, alone, check_like=True)


@needs_mirror
def test_communicate_stores_tables_in_uns_and_survives_h5ad(tirosh, tmp_path):
    a = tirosh.copy()
    table = communicate(a, sample_key="patient", n_perms=50)
    store = a.uns["neurosig"]["communication"]
    assert {"table", "by_sample", "cp_ampar", "parameters", "skipped_samples"} <= set(store)
    glu = table[
        table["ligand_complex"].str.startswith("Glutamate_by") & table["receptor"].str.startswith("GRIA")
    ]
    assert glu["receiver_cp_ampar"].notna().all()
    assert table.loc[~table.index.isin(glu.index), "receiver_cp_ampar"].isna().all()
    a.write_h5ad(tmp_path / "c.h5ad")
    back = ad.read_h5ad(tmp_path / "c.h5ad").uns["neurosig"]["communication"]
    assert len(back["table"]) == len(table)
    assert back["parameters"]["n_perms"] == 50


@needs_mirror
def test_communicate_on_a_backed_atlas_reads_its_genes_once_and_equals_in_memory(
    tirosh, tmp_path, monkeypatch
):
    """A backed AnnData (an atlas run's matrix on disk): the resource and AMPAR genes are read in
    one pass (not once for all cells and again per sample), and every table is identical."""
    import importlib

    from neurosig import _matrix

    memory = tirosh.copy()
    communicate(memory, sample_key="patient", n_perms=50)
    tirosh.write_h5ad(tmp_path / "t.h5ad")
    backed = ad.read_h5ad(tmp_path / "t.h5ad", backed="r")
    reads = []
    real = _matrix.iter_chunks
    for module in ("neurosig._matrix", "neurosig.communicate.cellphonedb", "neurosig.communicate.ampar"):
        monkeypatch.setattr(
            importlib.import_module(module),
            "iter_chunks",
            lambda a, *k, **kw: reads.append(getattr(a, "parent", a).isbacked) or real(a, *k, **kw),
        )
    communicate(backed, sample_key="patient", n_perms=50)
    assert reads.count(True) == 1 and len(reads) > 5  # one pass over the file, the rest in memory
    want, got = memory.uns["neurosig"]["communication"], backed.uns["neurosig"]["communication"]
    assert set(got) == set(want)
    for key in ("table", "by_sample", "cp_ampar", "cp_ampar_by_sample"):
        pd.testing.assert_frame_equal(got[key], want[key], obj=key)
    assert got["skipped_samples"] == want["skipped_samples"]
