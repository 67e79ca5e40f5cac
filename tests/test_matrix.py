"""Streaming a matrix from memory or disk: chunks, row subsets and columns equal anndata's own indexing."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from neurosig import _matrix
from neurosig._matrix import RowSubset, column_values, genes_detected, iter_chunks
from neurosig.sim import SimParams, simulate


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    """A small simulated 10x dataset (log-normalised CSR X), in memory and backed from its h5ad."""
    path = tmp_path_factory.mktemp("matrix") / "cells.h5ad"
    simulate(
        SimParams(n_patients=3, n_cells=300, n_genes=500, technology="tenx", seed=5), path, progress=False
    )
    memory = ad.read_h5ad(path)
    del memory.layers["counts"]
    memory.write_h5ad(path)  # X only, as a harmonised atlas on disk
    backed = ad.read_h5ad(path, backed="r")
    yield memory, backed
    backed.file.close()


def _same(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    """The same stored values in the same order (what the streamed sums see)."""
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )


def test_row_subset_chunks_equal_the_rows_indexed_whole_in_memory_and_backed(cells, monkeypatch):
    """Scattered rows (a malignant subset) in chunks of 7: each chunk is exactly ``X[rows[a:b]]``,
    and a backed file is read in row slices of at most 7 rows (never a list of rows)."""
    memory, backed = cells
    rows = np.flatnonzero(memory.obs["malignant"].to_numpy(bool))
    assert 0 < len(rows) < memory.n_obs and np.diff(rows).max() > 7  # gaps wider than a chunk
    reads = []
    read = _matrix._read
    monkeypatch.setattr(_matrix, "_read", lambda src, a, b: reads.append((a, b)) or read(src, a, b))
    for adata in (memory, backed):
        chunks = list(iter_chunks(RowSubset(adata, rows), None, 7))
        assert [(a, b) for a, b, _ in chunks] == [(a, min(a + 7, len(rows))) for a in range(0, len(rows), 7)]
        for a, b, block in chunks:
            assert _same(block, sp.csr_matrix(memory.X[rows[a:b]]))
    assert reads and all(isinstance(a, int) and 0 < b - a <= 7 for a, b in reads)
    assert sum(b - a for a, b in reads) < memory.n_obs  # the rows between selected ones far apart: skipped


def test_row_subset_obs_drops_unused_categories_as_an_anndata_view(cells):
    memory, _ = cells
    mask = (memory.obs["patient"] == memory.obs["patient"].iloc[0]).to_numpy()
    sub = RowSubset(memory, mask)
    view = memory[mask].obs
    assert sub.obs.equals(view)
    for col in view.columns[[isinstance(t, pd.CategoricalDtype) for t in view.dtypes]]:
        assert list(sub.obs[col].cat.categories) == list(view[col].cat.categories), col


def test_column_values_equal_anndata_columns_in_memory_and_backed(cells):
    """Read a chunk of 11 rows at a time, the columns equal ``adata[:, genes].X`` (as float64)."""
    memory, backed = cells
    cols = [0, 3, memory.n_vars - 1, 17]
    expected = memory[:, cols].X.toarray().astype(float)
    for adata in (memory, backed, RowSubset(memory, np.arange(memory.n_obs))):
        got = column_values(adata, cols, chunk_size=11)
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, expected)
    sub = np.arange(0, memory.n_obs, 3)
    np.testing.assert_array_equal(column_values(RowSubset(backed, sub), cols, chunk_size=11), expected[sub])


def test_genes_detected_equals_positive_values_per_row(cells):
    memory, backed = cells
    expected = np.asarray((memory.X > 0).sum(axis=1)).ravel()
    for adata in (memory, backed):
        np.testing.assert_array_equal(genes_detected(adata, chunk_size=13), expected)


def test_repeated_rows_and_absent_columns_are_refused(cells):
    memory, _ = cells
    with pytest.raises(ValueError, match="repeat"):
        RowSubset(memory, np.array([0, 0, 2]))
    with pytest.raises(IndexError, match="among the"):
        column_values(memory, [0, -1])  # get_indexer's -1 for an absent gene
