"""The run's files: cells.h5ad with or without the matrix."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from neurosig.export import cells_for_export
from neurosig.export.run import CELLS_MATRIX_MAX, write_tables
from neurosig.sim import SimParams, simulate_adata


@pytest.fixture(scope="module")
def small():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = simulate_adata(SimParams(n_patients=4, n_cells=400, n_genes=300, seed=4))
    a.obsm["neurosig_score_genes"] = pd.DataFrame({"s": np.arange(a.n_obs, dtype=float)}, index=a.obs_names)
    return a


def test_results_only_cells_h5ad_keeps_every_result_but_not_the_matrix(small, tmp_path):
    write_tables(small, tmp_path / "results", write_cells=False)
    back = ad.read_h5ad(tmp_path / "results" / "cells.h5ad")
    assert back.X is None and not back.layers and back.shape == small.shape
    pd.testing.assert_frame_equal(back.obs, small.obs)
    pd.testing.assert_frame_equal(back.obsm["neurosig_score_genes"], small.obsm["neurosig_score_genes"])
    assert back.uns["neurosig"]["dataset_id"] == small.uns["neurosig"]["dataset_id"]
    write_tables(small, tmp_path / "full", write_cells=None)  # small: the matrix by default
    full = ad.read_h5ad(tmp_path / "full" / "cells.h5ad")
    assert (full.X != small.X).nnz == 0


def test_default_drops_the_matrix_only_above_the_threshold(small):
    assert cells_for_export(small) is small
    big = ad.AnnData(obs=pd.DataFrame(index=[str(i) for i in range(CELLS_MATRIX_MAX + 1)]))
    assert cells_for_export(big).X is None
    assert cells_for_export(big, write_cells=True) is big
