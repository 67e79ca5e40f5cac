"""neurosig run's atlas path (one matrix held, results-only cells.h5ad) equals the in-memory path."""

from __future__ import annotations

import contextlib
import importlib
import sys
import warnings

import anndata as ad
import h5py
import numpy as np
import pytest

from neurosig import _matrix, pipeline
from neurosig._outdir import MATRIX_FILE
from neurosig.export import write_run
from neurosig.export.run import write_cells_h5ad
from neurosig.sim import SimParams, simulate


@pytest.fixture(scope="module")
def small_h5ad(tmp_path_factory):
    path = tmp_path_factory.mktemp("atlas") / "atlas.h5ad"
    params = SimParams(n_patients=5, n_cells=1000, n_genes=4000, technology="tenx", seed=3)
    simulate(params, path, progress=False)
    return path


@pytest.fixture(scope="module")
def runs(small_h5ad, tmp_path_factory):
    """``neurosig run`` on the small file in memory (``write_cells=True``) and as an atlas (``False``).

    ``out["streamed"]`` lists the runs whose harmonise streamed the matrix to disk.
    """
    load_module = importlib.import_module("neurosig.datasets.load")  # the package exports a function `load`

    out, streamed = {}, []
    real = load_module.harmonise_streamed
    for name, write_cells in (("memory", True), ("atlas", False)):
        out[name] = tmp_path_factory.mktemp("runs") / name
        with warnings.catch_warnings(), pytest.MonkeyPatch.context() as mp:
            warnings.simplefilter("ignore")
            mp.setattr(
                load_module,
                "harmonise_streamed",
                lambda *a, _n=name, **k: streamed.append(_n) or real(*a, **k),
            )
            pipeline.run(
                out[name],
                input=small_h5ad,
                patient_key="patient",
                label_key="cell_type",
                n_perms=20,
                progress=False,
                write_cells=write_cells,
            )
    out["streamed"] = streamed
    return out


def test_atlas_path_equals_in_memory_path_to_the_last_digit(runs):
    """write_cells=False takes every atlas choice on a small file (counts log-normalised in place,
    not kept; Neftel modules on a RowSubset; claims in one batch; cells.h5ad without the matrix):
    every table, figure and the report are byte-identical to the in-memory run's."""
    assert runs["streamed"] == ["atlas"]  # harmonised to disk in chunks, read back in chunks
    assert not (runs["atlas"] / MATRIX_FILE).exists()  # the run's matrix file is gone at its end
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


@contextlib.contextmanager
def _x_read_in_chunks_only():
    """Fail any read of X's stored values (h5py) outside ``neurosig._matrix._read``, which reads
    one span of rows of at most a chunk: ``adata[:, gene].X``, ``X.to_memory()``, a view's
    ``X``, ``X[rows]`` or anndata writing a backed AnnData would read the matrix (or a
    patient's rows) whole."""

    def guard(method):
        def guarded(self, *args, **kwargs):
            if self.name in ("/X/data", "/X/indices"):
                frame = sys._getframe(1)
                while frame is not None and frame.f_code is not _matrix._read.__code__:
                    frame = frame.f_back
                assert frame is not None, f"{self.name} read outside neurosig._matrix._read"
            return method(self, *args, **kwargs)

        return guarded

    with pytest.MonkeyPatch.context() as mp:
        for name in ("__getitem__", "read_direct"):  # numpy's __array__ calls read_direct
            mp.setattr(h5py.Dataset, name, guard(getattr(h5py.Dataset, name)))
        yield


def test_stages_and_export_on_a_backed_anndata_equal_the_in_memory_run(small_h5ad, runs, tmp_path):
    """Score, communicate, test and export on ``read_h5ad(path, backed="r")`` (X on disk, as the
    streamed harmonise returns it), reading X a chunk of rows at a time only: every file is
    byte-identical to the in-memory atlas run's (``write_cells=False``), and cells.h5ad holds the
    same scores and cell annotations (its bytes differ: ``uns`` read back from an h5ad is
    written in another order)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        harmonised = pipeline.harmonise(
            input=small_h5ad, patient_key="patient", label_key="cell_type", progress=False, write_cells=False
        )
    assert not harmonised.isbacked
    harmonised.write_h5ad(tmp_path / "harmonised.h5ad")
    adata = ad.read_h5ad(tmp_path / "harmonised.h5ad", backed="r")
    with _x_read_in_chunks_only(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for stage in pipeline.stages_for(adata):
            pipeline.STAGES[stage](adata, seed=0, n_perms=20, progress=False)
        write_run(adata, tmp_path / "backed", write_cells=False)
        write_cells_h5ad(adata, tmp_path / "with_matrix.h5ad", write_cells=True)  # X copied by HDF5
        for whole_read in (lambda: adata[:, 0].X, lambda: adata.write_h5ad(tmp_path / "anndata.h5ad")):
            with pytest.raises(AssertionError, match="outside"):  # the guard sees a whole read
                whole_read()
    memory, backed = runs["atlas"], tmp_path / "backed"
    files = sorted(p.relative_to(memory) for p in memory.rglob("*") if p.is_file())
    compared = [f for f in files if f.name not in ("provenance.json", "cells.h5ad")]
    assert len(compared) >= 20 and {f.name for f in compared} >= {"patient_scores.csv", "report.html"}
    differ = [f for f in compared if (memory / f).read_bytes() != (backed / f).read_bytes()]
    assert differ == []
    full, cells = ad.read_h5ad(memory / "cells.h5ad"), ad.read_h5ad(backed / "cells.h5ad")
    assert cells.X is None and set(cells.obsm) == set(full.obsm) >= {"neurosig_score_genes", "neftel_modules"}
    for key in full.obsm:
        np.testing.assert_array_equal(np.asarray(full.obsm[key]), np.asarray(cells.obsm[key]), err_msg=key)
    assert full.obs.equals(cells.obs)
    with_matrix = ad.read_h5ad(tmp_path / "with_matrix.h5ad")
    assert (with_matrix.X != harmonised.X).nnz == 0 and with_matrix.X.dtype == harmonised.X.dtype
    np.testing.assert_array_equal(
        with_matrix.obsm["neurosig_score_genes"], cells.obsm["neurosig_score_genes"]
    )


def test_a_failed_atlas_run_closes_and_removes_its_matrix_file(small_h5ad, tmp_path, monkeypatch):
    """A stage that fails after harmonise streamed the matrix: the file is closed and removed."""
    opened = []

    def fail(adata, **_):
        opened.append(adata.file)
        raise RuntimeError("a stage failed")

    monkeypatch.setitem(pipeline.STAGES, "score", fail)
    with warnings.catch_warnings(), pytest.raises(RuntimeError, match="a stage failed"):
        warnings.simplefilter("ignore")
        pipeline.run(
            tmp_path / "out",
            input=small_h5ad,
            patient_key="patient",
            label_key="cell_type",
            write_cells=False,
        )
    assert len(opened) == 1 and not opened[0].is_open
    assert not (tmp_path / "out" / MATRIX_FILE).exists()
