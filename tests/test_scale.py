"""neurosig run's atlas path (one matrix held, results-only cells.h5ad) equals the in-memory path."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pytest

from neurosig import pipeline
from neurosig.sim import SimParams, simulate


@pytest.fixture(scope="module")
def small_h5ad(tmp_path_factory):
    path = tmp_path_factory.mktemp("atlas") / "atlas.h5ad"
    params = SimParams(n_patients=5, n_cells=1000, n_genes=4000, technology="tenx", seed=3)
    simulate(params, path, progress=False)
    return path


def test_atlas_path_equals_in_memory_path_to_the_last_digit(small_h5ad, tmp_path):
    """write_cells=False takes every atlas choice on a small file (counts log-normalised in place,
    not kept; Neftel modules on a RowSubset; claims in one batch; cells.h5ad without the matrix):
    every table, figure and the report are byte-identical to the in-memory run's."""
    runs = {}
    for name, write_cells in (("memory", True), ("atlas", False)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline.run(
                tmp_path / name,
                input=small_h5ad,
                patient_key="patient",
                label_key="cell_type",
                n_perms=20,
                progress=False,
                write_cells=write_cells,
            )
        runs[name] = tmp_path / name
    skip = {"provenance.json", "cells.h5ad"}
    files = sorted(p.relative_to(runs["memory"]) for p in runs["memory"].rglob("*") if p.is_file())
    compared = [f for f in files if f.name not in skip]
    assert len(compared) >= 20 and {f.name for f in compared} >= {"evidence.csv", "report.html"}
    differ = [f for f in compared if (runs["memory"] / f).read_bytes() != (runs["atlas"] / f).read_bytes()]
    assert differ == []
    full, atlas = ad.read_h5ad(runs["memory"] / "cells.h5ad"), ad.read_h5ad(runs["atlas"] / "cells.h5ad")
    assert "counts" in full.layers and atlas.X is None and not atlas.layers
    for key in full.obsm:
        np.testing.assert_array_equal(np.asarray(full.obsm[key]), np.asarray(atlas.obsm[key]), err_msg=key)
    assert full.obs.equals(atlas.obs)
