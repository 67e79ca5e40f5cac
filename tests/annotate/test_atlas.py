"""The subsample strategy for atlases without labels, validated on the mirrored datasets.

The datasets are those ``test_annotate.py`` validates today's annotation on (Tirosh
2016: markers and copy number; Darmanis 2015: markers). The strategy is forced on them
with a subsample of half the cells; its calls are compared with today's annotation of
every cell and with the authors' labels, and a shuffled assignment (the votes read
labels in random order) must fail the same thresholds.
"""

from __future__ import annotations

import warnings
from functools import cache

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from neurosig._matrix import iter_chunks
from neurosig.annotate import atlas
from neurosig.annotate.atlas import allocate, draw_subsample, read_rows, vote
from neurosig.annotate.cell_types import embedding
from neurosig.datasets import load
from neurosig.errors import InputDataError
from neurosig.tl import annotate

from ..conftest import needs_mirror
from .test_annotate import SIX, hide_labels


def test_allocate_keeps_every_patient_and_the_cap():
    quota = allocate(np.array([1000, 100, 5]), 200)
    assert quota.tolist() == [163, 32, 5]  # floors 20, 20, 5; 155 more shared 980:80
    sizes = np.array([50_000, 3, 20_000, 700, 1])
    quota = allocate(sizes, 10_000)
    assert quota.sum() == 10_000 and (quota >= 1).all() and (quota <= sizes).all()
    assert quota[[1, 4]].tolist() == [3, 1]
    assert allocate(sizes, 10**6).tolist() == sizes.tolist()
    with pytest.raises(InputDataError, match="cannot hold one cell of each of 5 patients"):
        allocate(sizes, 4)


def test_subsample_is_seeded_and_stratified():
    obs = pd.DataFrame({"patient": np.repeat(["p1", "p2", "p3"], [900, 90, 10])})
    rows, record = draw_subsample(obs, 100, seed=0)
    again, _ = draw_subsample(obs, 100, seed=0)
    other, _ = draw_subsample(obs, 100, seed=1)
    assert (rows == again).all() and not (rows == other).all()
    assert (np.diff(rows) > 0).all()
    counts = obs["patient"].iloc[rows].value_counts().to_dict()
    assert counts == dict(zip(record["patients"], record["cells"], strict=True))
    assert counts == {"p1": 66, "p2": 24, "p3": 10}  # floors 20, 20, 10; 50 more 880:70
    rows, record = draw_subsample(pd.DataFrame(index=range(50)), 20, seed=0)
    assert len(rows) == 20 and record["patients"] == ["all cells"]


def test_vote_takes_the_majority_and_breaks_ties_by_the_nearest():
    labels = np.array([5, 6, 6, 7])
    assert vote(np.array([[0, 1, 2], [2, 1, 0], [3, 0, 1]]), labels).tolist() == [6, 6, 7]


@pytest.fixture(scope="module")
def tirosh_sub():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = load("tirosh2016_oligodendroglioma_infercnvpy")
    rows, _ = draw_subsample(a.obs, 92, seed=0)
    return a, rows


def test_projection_reproduces_scanpy_pca(tirosh_sub):
    """Projecting the subsample's own cells gives scanpy's X_pca: same genes, same centring."""
    a, rows = tirosh_sub
    sub = read_rows(a, rows, chunk_size=25)
    assert (sub.X != a.X[rows]).nnz == 0
    emb = embedding(sub, seed=0, resolution=1.5)
    np.testing.assert_allclose(emb.project(sub.X), emb.coords, atol=1e-4 * np.abs(emb.coords).max())


@cache
def _full(dataset: str, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Today's annotation of every cell (labels hidden) and the authors' labels."""
    full = load(dataset)
    truth = hide_labels(full)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        annotate(full, seed=seed, call_cnv=dataset.startswith("tirosh"))
    return full.obs.copy(), truth


def _agreement(dataset: str, seed: int = 0, shuffle: bool = False, monkeypatch=None) -> dict[str, float]:
    """Subsample strategy (half the cells) against today's annotation and the authors' labels."""
    cnv = dataset.startswith("tirosh")
    full, truth = _full(dataset, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        part = load(dataset)
        hide_labels(part)
        if shuffle:
            rng = np.random.default_rng(seed)

            def shuffled(nb, labels, vote=atlas.vote):
                return vote(nb, rng.permutation(labels))

            monkeypatch.setattr(atlas, "vote", shuffled)
        annotate(part, seed=seed, call_cnv=cnv, max_cells=0, subsample_cells=part.n_obs // 2)
    placed = ~part.obs["annotation_subsample"].to_numpy()
    out = {}
    if cnv:
        called = part.obs["cell_type"].astype(str).to_numpy()[placed]
        out["type_vs_full"] = (called == full["cell_type"].astype(str).to_numpy()[placed]).mean()
        malignant = part.obs["malignant"].to_numpy(dtype=bool)[placed]
        out["malignant_vs_full"] = (malignant == full["malignant"].to_numpy(dtype=bool)[placed]).mean()
        out["malignant_vs_author"] = (malignant == (truth == "malignant").to_numpy()[placed]).mean()
    else:
        called = part.obs["cell_type_markers"].astype(str).to_numpy()
        out["type_vs_full"] = (called == full["cell_type_markers"].astype(str).to_numpy())[placed].mean()
        keep = truth.isin(SIX).to_numpy() & placed
        out["type_vs_author"] = (called[keep] == truth.to_numpy()[keep]).mean()
    return out


@needs_mirror
def test_tirosh_subsample_agrees_with_full_annotation_and_authors(monkeypatch):
    """Tirosh 2016, 92 of 184 cells annotated, 92 placed (seed 0): every placed cell's type
    and malignant call as today's annotation and as the authors'. Shuffled votes: 77% (the
    malignant share) or less."""
    good = _agreement("tirosh2016_oligodendroglioma")
    assert min(good.values()) >= 0.95, good
    bad = _agreement("tirosh2016_oligodendroglioma", shuffle=True, monkeypatch=monkeypatch)
    assert bad["malignant_vs_author"] < 0.9 and bad["type_vs_full"] < 0.9, bad


@needs_mirror
def test_darmanis_subsample_agrees_with_full_annotation_and_authors(monkeypatch):
    """Darmanis 2015, 233 of 466 cells annotated, 233 placed (seed 0): the placed cells'
    marker types agree with today's annotation for 85% and with the authors' six adult
    types for 85% (today's full annotation: 92%). Shuffled votes: 36% and 21%."""
    good = _agreement("darmanis2015_brain")
    assert good["type_vs_full"] >= 0.8 and good["type_vs_author"] >= 0.8, good
    bad = _agreement("darmanis2015_brain", shuffle=True, monkeypatch=monkeypatch)
    assert bad["type_vs_full"] < 0.6 and bad["type_vs_author"] < 0.6, bad


def test_backed_file_gets_the_labels_of_memory(tmp_path, monkeypatch):
    """The strategy on a backed h5ad (X on disk, read in chunks) labels every cell as in memory."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mem = load("tirosh2016_oligodendroglioma_infercnvpy")
        hide_labels(mem)
        path = tmp_path / "tirosh.h5ad"
        mem.write_h5ad(path)
        backed = ad.read_h5ad(path, backed="r")
        annotate(mem, seed=0, max_cells=0, subsample_cells=92, chunk_size=50)
        reads = []

        def counted(adata, layer, chunk_size, *args, **kwargs):
            for a, b, block in iter_chunks(adata, layer, chunk_size, *args, **kwargs):
                reads.append(block.shape[0])
                yield a, b, block

        monkeypatch.setattr(atlas, "iter_chunks", counted)
        annotate(backed, seed=0, subsample_cells=92, chunk_size=50)
    assert backed.isbacked and not mem.isbacked
    # X is read in chunks of at most 50 rows: the subsample's 92 rows, then every row once
    assert max(reads) == 50 and sum(reads) == 92 + 184
    columns = ["leiden", "cell_type_markers", "malignant_cnv", "cell_type", "cell_type_source", "malignant"]
    for column in columns:
        assert (backed.obs[column].astype(str) == mem.obs[column].astype(str)).all(), column
    record = backed.uns["neurosig"]["annotation"]
    assert record["strategy"] == "subsample" and record["backed"]
    assert not mem.uns["neurosig"]["annotation"]["backed"]
    assert record["subsample_cells"] == record["n_placed"] == sum(record["per_patient"]["cells"]) == 92
    assert record["per_patient"]["patients"] == ["MGH36", "MGH53", "MGH54", "MGH93", "MGH97"]
    subsample = backed.obs["annotation_subsample"].to_numpy()
    assert subsample.sum() == 92
    assert backed.obs["cnv_score"].isna().to_numpy().tolist() == (~subsample).tolist()


def test_dispatch_keeps_small_data_on_all_cells():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = load("tirosh2016_oligodendroglioma_infercnvpy")
        hide_labels(a)
        annotate(a, seed=0, call_cnv=False)
    assert a.uns["neurosig"]["annotation"]["strategy"] == "all cells"
    assert "annotation_subsample" not in a.obs
