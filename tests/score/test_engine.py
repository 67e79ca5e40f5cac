"""The engine against the reference implementations on real data, and its refusals."""

from __future__ import annotations

import anndata as ad
import decoupler as dc
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp

from neurosig.datasets import load
from neurosig.errors import InputDataError
from neurosig.knowledge import library
from neurosig.tl import score, score_summary

IDS = [
    "APM18_Wang2019",
    "MHC_I_machinery",
    "Neftel2019_MES1",
    "AMPAR_subunits",
    "HALLMARK_IFNG_RESPONSE",
    "glutamatergic_synapse_GO",
]


@pytest.fixture(scope="module")
def tirosh():
    return load("tirosh2016_oligodendroglioma_infercnvpy")


def test_score_genes_equals_scanpy(tirosh):
    """Same control genes and the same numbers as scanpy.tl.score_genes (float32 input: 1e-6)."""
    df = score(tirosh, IDS, method="score_genes", seed=0, min_coverage=0.1)
    for sid in IDS:
        ref = tirosh.copy()
        genes = [g for g in library()[sid].genes if g in ref.var_names]
        sc.tl.score_genes(ref, genes, random_state=0, score_name="s")
        np.testing.assert_allclose(df[sid], ref.obs["s"], atol=1e-6, err_msg=sid)
    assert tirosh.obsm["neurosig_score_genes"].shape == (184, len(IDS))
    rec = tirosh.uns["neurosig"]["scores"]["neurosig_score_genes"]
    assert rec["coverage"]["MHC_I_machinery"]["n_found"] >= 5


def test_signed_set_is_up_minus_down(tirosh):
    df = score(tirosh, ["CP_AMPAR_index"], seed=0)
    up = score(tirosh, {"up": ["GRIA1", "GRIA3", "GRIA4"]}, seed=0)["up"]
    down = score(tirosh, {"down": ["GRIA2"]}, seed=0, min_genes=1)["down"]
    np.testing.assert_allclose(df["CP_AMPAR_index"], up - down, atol=1e-12)


def test_aucell_equals_decoupler(tirosh):
    df = score(tirosh, IDS, method="aucell", min_coverage=0.1)
    net = pd.DataFrame(
        [(s, g) for s in IDS for g in library()[s].genes if g in tirosh.var_names],
        columns=["source", "target"],
    )
    ref = tirosh.copy()
    dc.mt.aucell(ref, net, tmin=2)
    for sid in IDS:
        np.testing.assert_allclose(df[sid], ref.obsm["score_aucell"][sid], atol=1e-12, err_msg=sid)


def test_disk_backed_equals_in_memory(tirosh, tmp_path):
    path = tmp_path / "t.h5ad"
    tirosh.write_h5ad(path)
    backed = ad.read_h5ad(path, backed="r")
    a = score(backed, IDS[:3], chunk_size=50, seed=0, min_coverage=0.1)
    b = score(tirosh, IDS[:3], chunk_size=1000, seed=0, min_coverage=0.1)
    c = score(path, IDS[:3], chunk_size=37, seed=0, min_coverage=0.1)  # streamed from the file
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(c.to_numpy(), b.to_numpy(), atol=1e-12)
    assert list(c.index) == list(tirosh.obs_names) and c.attrs["neurosig"]["method"] == "score_genes"
    u = score(path, IDS[:3], method="ulm", chunk_size=37, min_coverage=0.1)
    np.testing.assert_allclose(
        u.to_numpy(), score(tirosh, IDS[:3], method="ulm", min_coverage=0.1).to_numpy(), atol=1e-9
    )


def test_gene_means_of_a_file_are_read_once(tirosh, tmp_path, monkeypatch):
    """Scoring a backed file twice reads its gene statistics once (the score and test stages of an
    atlas run); the second scores are identical, and a rewritten file is read again."""
    from neurosig.score import engine

    path = tmp_path / "t.h5ad"
    tirosh.write_h5ad(path)
    passes = []
    real = engine._gene_means
    monkeypatch.setattr(engine, "_gene_means", lambda *a, **k: passes.append(1) or real(*a, **k))
    backed = ad.read_h5ad(path, backed="r")
    first = score(backed, IDS[:3], seed=0, min_coverage=0.1, key_added="a")
    again = score(backed, IDS[3:], seed=0, min_coverage=0.1, key_added="b")
    assert len(passes) == 1
    np.testing.assert_array_equal(
        again.to_numpy(), score(tirosh, IDS[3:], seed=0, min_coverage=0.1, key_added="c").to_numpy()
    )
    score(tirosh, IDS[:3], seed=0, min_coverage=0.1)  # in memory: never remembered
    assert len(passes) == 3
    # some cells of the file (a backed view) get their own means and scores, returned, not stored
    some = (tirosh.obs["malignant"] == True).to_numpy()  # noqa: E712 - nullable boolean
    view = score(backed[some], IDS[:3], seed=0, min_coverage=0.1, key_added="v")
    want = score(tirosh[some].copy(), IDS[:3], seed=0, min_coverage=0.1)
    np.testing.assert_allclose(view.to_numpy(), want.to_numpy(), atol=1e-12)
    assert len(passes) == 5 and "v" not in backed.obsm
    backed.file.close()
    tirosh[:100].copy().write_h5ad(path)
    score(ad.read_h5ad(path, backed="r"), IDS[:3], seed=0, min_coverage=0.1)
    assert len(passes) == 6 and first.shape[0] == tirosh.n_obs


def test_low_coverage_refused_never_scored_on_nothing(tirosh):
    with pytest.raises(InputDataError, match="refused for low coverage.*NOT_A_GENE"):
        score(tirosh, {"ghost": ["NOT_A_GENE", "ALSO_NOT", "GFAP"]})
    with pytest.warns(UserWarning, match="refused for low coverage"):
        df = score(tirosh, None)
    refused = tirosh.uns["neurosig"]["scores"]["neurosig_score_genes"]["refused"]
    assert set(refused).isdisjoint(df.columns) and len(df.columns) > 20


def test_alias_rescue(tirosh):
    df = score(tirosh, {"old": ["HN1", "GFAP", "SOX2"]}, min_coverage=0.5)
    cov = tirosh.uns["neurosig"]["scores"]["neurosig_score_genes"]["coverage"]["old"]
    assert "JPT1" in tirosh.var_names and cov["rescued"] == {"HN1": "JPT1"}
    assert df["old"].notna().all()


def test_bad_input(tirosh):
    counts = ad.AnnData(
        X=sp.csr_matrix(np.round(tirosh.layers["tpm"].toarray() * 10)), obs=tirosh.obs, var=tirosh.var
    )
    with pytest.raises(InputDataError, match="raw counts"):
        score(counts, ["MHC_I_machinery"])
    nan = tirosh.copy()
    nan.X = nan.X.toarray()
    nan.X[0, 0] = np.nan
    with pytest.raises(InputDataError, match="NaN"):
        score(nan, ["MHC_I_machinery"])
    mouse = tirosh.copy()
    mouse.var_names = [g.capitalize() for g in mouse.var_names]
    with pytest.raises(InputDataError, match="mouse symbols.*orthologs"):
        score(mouse, ["MHC_I_machinery"])
    with pytest.raises(InputDataError, match="Unknown method"):
        score(tirosh, ["MHC_I_machinery"], method="magic")


def test_summary_per_patient_and_empty_group(tirosh):
    score(tirosh, ["MHC_I_machinery"], seed=0)
    table = score_summary(tirosh, "neurosig_score_genes")
    assert table["n_cells"].sum() == 184 and set(table["patient"]) == {
        "MGH36",
        "MGH53",
        "MGH54",
        "MGH93",
        "MGH97",
    }
    with pytest.raises(InputDataError, match="No cells of type"):
        score_summary(tirosh, "neurosig_score_genes", cell_types=["T_CD8"])


def test_ucell_equals_pyucell(tirosh):
    pyucell = pytest.importorskip("pyucell")
    ids = [*IDS, "CP_AMPAR_index"]
    df = score(tirosh, ids, method="ucell", min_coverage=0.1)
    sigs = {
        s: [g + ("-" if w < 0 else "+") for g, w in library()[s].weights.items() if g in tirosh.var_names]
        for s in ids
    }
    ref = tirosh.copy()
    pyucell.compute_ucell_scores(ref, sigs, n_jobs=1)
    for sid in ids:  # pyUCell accumulates in float32
        np.testing.assert_allclose(df[sid], ref.obs[f"{sid}_UCell"], atol=1e-6, err_msg=sid)


def test_random_state_is_a_deprecated_alias_of_seed(tirosh):
    a = tirosh[:60].copy()
    new = score(a, ["MHC_I_machinery"], seed=3)
    with pytest.warns(DeprecationWarning, match="'random_state' is deprecated"):
        old = score(a, ["MHC_I_machinery"], random_state=3)
    pd.testing.assert_frame_equal(new, old)
    assert a.uns["neurosig"]["scores"]["neurosig_score_genes"]["random_state"] == 3
    with pytest.raises(TypeError, match="both 'seed' and its deprecated alias"):
        score(a, ["MHC_I_machinery"], seed=3, random_state=3)


def test_linear_batch_equals_one_score_call_per_column(tirosh):
    """LinearBatch: each column, with its own control exclusions, is score() to the last digit
    (and scanpy's score_genes where nothing is excluded), in one pass for all columns."""
    from neurosig.score.engine import LinearBatch

    sets = {sid: dict.fromkeys(g for g in library()[sid].genes if g in tirosh.var_names) for sid in IDS[:4]}
    excl = {"APM18_Wang2019": [], "MHC_I_machinery": ["GRIA2", "CD274"], "Neftel2019_MES1": ["HLA-A"]}
    batch = LinearBatch(tirosh, seed=0)
    for sid in IDS[:3]:
        batch.add(sid, {g: 1.0 for g in sets[sid]}, exclude_from_controls=excl[sid])
    got = batch.run()
    for sid in IDS[:3]:
        one = score(tirosh.copy(), [sid], seed=0, min_coverage=0.1, exclude_from_controls=excl[sid])
        np.testing.assert_array_equal(got[sid], one[sid].to_numpy())
    ref = tirosh.copy()
    sc.tl.score_genes(ref, list(sets["APM18_Wang2019"]), random_state=0, score_name="s")
    np.testing.assert_allclose(got["APM18_Wang2019"], ref.obs["s"], atol=1e-6)
    with pytest.raises(InputDataError, match="linear methods"):
        LinearBatch(tirosh, "aucell")
