"""Streamed harmonise (chunk by chunk from disk, into a backed AnnData) equals the in-memory path."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from neurosig.datasets import load_h5ad
from neurosig.datasets.streamed import chunk_rows, harmonise_streamed
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


def test_streamed_refuses_what_memory_refuses(tmp_path):
    """Non-integer values in X without a counts layer: the same message, and no file is left."""
    x = sp.random(300, 40, density=0.3, format="csr", dtype=np.float32, random_state=0)
    x.data += 0.5
    obs = pd.DataFrame({"patient": ["P1"] * 300}, index=[f"c{i}" for i in range(300)])
    path = tmp_path / "tpm.h5ad"
    ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=[f"G{i}" for i in range(40)])).write_h5ad(path)
    with pytest.raises(InputDataError, match="not integer counts") as in_memory:
        load_h5ad(path, patient_key="patient", keep_counts=False)
    out = tmp_path / "m.h5ad"
    with pytest.raises(InputDataError, match="not integer counts") as streamed:
        harmonise_streamed(
            path,
            out,
            matrix="X",
            dataset_id="tpm",
            value_type=None,
            schema={"patient": {"column": "patient"}},
            no_counts_message=str(in_memory.value),
        )
    assert str(streamed.value) == str(in_memory.value)
    assert not out.exists() and list(tmp_path.iterdir()) == [path]
