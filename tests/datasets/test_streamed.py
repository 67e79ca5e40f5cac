"""Streamed harmonise (chunk by chunk from disk, into a backed AnnData) equals the in-memory path."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from neurosig.datasets import load_h5ad
from neurosig.datasets.streamed import chunk_rows
from neurosig.errors import InputDataError
from neurosig.sim import SimParams, simulate_adata


@pytest.fixture(scope="module")
def awkward_h5ad(tmp_path_factory):
    """A simulated 10x file with what real files bring: a counts layer beside a normalised X,
    empty cells, a read-counter summary row (HTSeq's ``__no_feature``), an outdated alias next
    to its current symbol's absence (renamed) and a symbol written twice (summed)."""
    folder = tmp_path_factory.mktemp("streamed")
    sim = simulate_adata(SimParams(n_patients=4, n_cells=900, n_genes=3000, technology="tenx", seed=5))
    counts = sp.csr_matrix(sim.layers["counts"], dtype=np.float32).tolil()
    counts[[3, 400, 899], :] = 0  # three cells with no expression
    names = list(sim.var_names)
    names[10] = names[11]  # a symbol measured twice (e.g. two Ensembl ids of one gene)
    summary = np.full((sim.n_obs, 1), 2.0, np.float32)
    summary[[3, 400, 899]] = 0
    counts = sp.hstack([counts.tocsr(), sp.csr_matrix(summary)]).tocsr()
    var = pd.DataFrame(index=[*names, "__no_feature"])
    obs = sim.obs[["patient", "cell_type"]].copy()
    x = counts.copy()
    x.data = np.log1p(x.data)
    adata = ad.AnnData(X=x, obs=obs, var=var, layers={"counts": counts})
    path = folder / "awkward.h5ad"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata.write_h5ad(path)
    return path


def _load(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_h5ad(path, patient_key="patient", label_key="cell_type", keep_counts=False, **kw)


def test_streamed_equals_in_memory_to_the_last_digit(awkward_h5ad, tmp_path, monkeypatch):
    """Small chunks (about 40 cells each) so that every row-wise step crosses chunk borders."""
    monkeypatch.setattr("neurosig.datasets.streamed.CHUNK_NNZ", 20_000)
    memory = _load(awkward_h5ad)
    backed = _load(awkward_h5ad, stream_to=tmp_path / "m.h5ad")
    assert backed.isbacked and not memory.isbacked
    assert backed.n_obs == memory.n_obs == 897  # the three empty cells dropped
    assert list(backed.var_names) == list(memory.var_names)
    assert "__no_feature" not in backed.var_names and backed.var_names.is_unique
    pd.testing.assert_frame_equal(backed.obs, memory.obs)
    pd.testing.assert_frame_equal(backed.var, memory.var)
    got, want = sp.csr_matrix(backed.X[:]), memory.X
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_array_equal(got.data, want.data)
    rec_b, rec_m = backed.uns["neurosig"], memory.uns["neurosig"]
    assert {k: v for k, v in rec_b.items() if k != "versions"} == {
        k: v for k, v in rec_m.items() if k != "versions"
    }
    assert rec_b["genes"]["merged_duplicates"] == 1
    assert rec_b["genes"]["non_gene_rows_dropped"] == ["__no_feature"]
    assert rec_b["cells"]["empty_cells_dropped"] == 3
    assert not memory.layers and rec_b["linear_layer"] == ""


def test_chunks_cover_every_row_once():
    indptr = np.cumsum([0, 5, 0, 50, 1, 1, 1, 30])
    bounds = chunk_rows(indptr, target_nnz=10)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(indptr) - 1
    assert all(b > a for a, b in bounds) and all(
        b1 == a2 for (_, b1), (a2, _) in zip(bounds[:-1], bounds[1:], strict=True)
    )


def _write(path, x, layers=None):
    obs = pd.DataFrame({"patient": ["P1"] * x.shape[0]}, index=[f"c{i}" for i in range(x.shape[0])])
    var = pd.DataFrame(index=[f"G{i}" for i in range(x.shape[1])])
    ad.AnnData(X=x, obs=obs, var=var, layers=layers or {}).write_h5ad(path)


def test_streamed_refuses_what_memory_refuses(tmp_path):
    """Non-integer values in X without a counts layer: the same message from load_h5ad either
    way (refused at the first chunk, not after the pass), and no file is left."""
    x = sp.random(300, 40, density=0.3, format="csr", dtype=np.float32, random_state=0)
    x.data += 0.5
    _write(tmp_path / "tpm.h5ad", x)
    with pytest.raises(InputDataError, match="not integer counts") as in_memory:
        load_h5ad(tmp_path / "tpm.h5ad", patient_key="patient", keep_counts=False)
    out = tmp_path / "m.h5ad"
    with pytest.raises(InputDataError, match="not integer counts") as streamed:
        load_h5ad(tmp_path / "tpm.h5ad", patient_key="patient", keep_counts=False, stream_to=out)
    assert str(streamed.value) == str(in_memory.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tpm.h5ad"]


def test_a_counts_layer_is_judged_as_in_memory(tmp_path):
    """layers['counts'] is declared counts in memory (float noise below 1e-3 passes; values off
    integers are refused as 'declared raw counts'); streamed, the same."""
    x = sp.random(300, 40, density=0.3, format="csr", dtype=np.float32, random_state=1)
    x.data = np.round(x.data * 20) + 1
    noisy = x.copy()
    noisy.data += 1e-4
    _write(tmp_path / "noisy.h5ad", x, {"counts": noisy})
    memory = load_h5ad(tmp_path / "noisy.h5ad", patient_key="patient", keep_counts=False)
    backed = load_h5ad(tmp_path / "noisy.h5ad", patient_key="patient", stream_to=tmp_path / "m.h5ad")
    np.testing.assert_array_equal(sp.csr_matrix(backed.X[:]).data, memory.X.data)
    off = x.copy()
    off.data += 0.5
    _write(tmp_path / "off.h5ad", x, {"counts": off})
    with pytest.raises(InputDataError, match="declared raw counts") as in_memory:
        load_h5ad(tmp_path / "off.h5ad", patient_key="patient", keep_counts=False)
    with pytest.raises(InputDataError, match="declared raw counts") as streamed:
        load_h5ad(tmp_path / "off.h5ad", patient_key="patient", stream_to=tmp_path / "m2.h5ad")
    assert str(streamed.value) == str(in_memory.value)


def test_too_little_disk_is_refused_before_any_work(awkward_h5ad, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**12, 10**12 - 1000, 1000))
    with pytest.raises(InputDataError, match="GB free.*--out"):
        _load(awkward_h5ad, stream_to=tmp_path / "m.h5ad")
    assert list(tmp_path.iterdir()) == []
