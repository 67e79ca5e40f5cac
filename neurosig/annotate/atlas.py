"""Annotation of an atlas without labels, with memory flat in the number of cells.

1. **Subsample.** A seeded subsample of at most ``subsample_cells`` cells (default
   50,000), stratified by patient (``.obs["patient"]``): each patient first gets
   ``min(its cells, 20, subsample_cells // patients)`` cells (at least one), and the rest
   of the budget is shared in proportion to the cells each patient has left (largest
   remainders), so every patient is represented and the total is exact. Only these rows
   are read into memory (row numbers, :class:`neurosig._matrix.RowSubset`).
2. **Today's annotation on the subsample, unchanged** (:func:`.annotate.annotate_cells`):
   embedding and Leiden clusters, marker types per cluster, infercnvpy copy number and
   the cluster-level malignant call, CellTypist when asked.
3. **One streamed pass over every other cell.** Each chunk of rows is projected onto the
   subsample's PCA (the same highly variable genes, centred on the subsample's means,
   times its loadings: :meth:`.cell_types.Embedding.project`), and each cell takes, by a
   vote of its ``neighbours`` (15) nearest subsample cells in that space, the subsample's
   Leiden cluster, marker type, final type (markers or CellTypist) and copy-number call.
   A kNN vote rather than the nearest cluster centroid: Leiden clusters are communities
   of the 15-nearest-neighbour graph, not spheres around a centroid, and the vote is
   taken over the labels (type, malignant) rather than over clusters, so small clusters
   of one type count together. (On the mirrored data the nearest centroid placed cells
   as well, within the seed spread: docs/scale.md.) The malignant call keeps the rules of
   :mod:`.malignant`: never an immune type, never a reference cell (the user's mask, or
   by default a cell whose voted marker type is of a normal-reference tier).

Only the subsample, one chunk and the per-cell output columns are held; the cells not
in the subsample have no CNV score or marker confidence (``NaN``), and
``.obs["annotation_subsample"]`` says which cells were in it.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import _keys
from .._matrix import RowSubset, iter_chunks
from .._scale import ATLAS_CELLS, SUBSAMPLE_CELLS
from ..errors import InputDataError
from .annotate import annotate_cells, called_labels, source_counts, write_labels
from .cell_types import Embedding, embedding
from .malignant import reference_tier

MIN_PER_PATIENT = 20
"""Cells each patient contributes to the subsample at least (when it has them and the cap allows)."""

NEIGHBOURS = 15
"""Subsample cells that vote on each other cell's labels (the embedding's graph uses 15)."""

KNN_MEMORY_MB = 128
"""Working memory of the neighbour search per block of distances (scikit-learn's ``working_memory``)."""


def allocate(sizes: np.ndarray, n_cells: int, min_per_patient: int = MIN_PER_PATIENT) -> np.ndarray:
    """Cells to draw per patient: a floor for each, the rest in proportion, ``n_cells`` in all.

    Examples
    --------
    >>> allocate(np.array([1000, 100, 5]), 200).tolist()
    [163, 32, 5]
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if n_cells >= sizes.sum():
        return sizes.copy()
    if n_cells < len(sizes):
        raise InputDataError(
            f"A subsample of {n_cells} cells cannot hold one cell of each of {len(sizes)} patients; "
            "raise subsample_cells."
        )
    floor = np.minimum(sizes, max(1, min(min_per_patient, n_cells // len(sizes))))
    room = sizes - floor
    rest = n_cells - int(floor.sum())
    share = rest * room / room.sum() if room.sum() else np.zeros(len(sizes))
    extra = np.floor(share).astype(np.int64)
    left = rest - int(extra.sum())
    order = np.argsort(-(share - extra), kind="stable")
    extra[order[:left]] += 1
    return floor + extra


def draw_subsample(
    obs: pd.DataFrame, n_cells: int, *, seed: int = 0, patient_key: str = "patient"
) -> tuple[np.ndarray, dict]:
    """Sorted row numbers of a seeded subsample stratified by patient, and cells per patient.

    Without a patient column every cell is one stratum. Returns the rows and
    ``{"patients": [...], "cells": [...]}``.
    """
    if patient_key in obs:
        patients = obs[patient_key].astype(object).where(obs[patient_key].notna(), "unknown").astype(str)
    else:
        patients = pd.Series("all cells", index=obs.index)
    codes, names = pd.factorize(patients.to_numpy(), sort=True)
    sizes = np.bincount(codes, minlength=len(names))
    quota = allocate(sizes, n_cells)
    rng = np.random.default_rng(seed)
    order = np.argsort(codes, kind="stable")
    groups = np.split(order, np.cumsum(sizes)[:-1])
    rows = [rng.choice(g, size=int(q), replace=False) for g, q in zip(groups, quota, strict=True)]
    record = {"patients": [str(n) for n in names], "cells": [int(q) for q in quota]}
    return np.sort(np.concatenate(rows)), record


def read_rows(adata: ad.AnnData, rows: np.ndarray, chunk_size: int = 10_000) -> ad.AnnData:
    """The given rows of ``adata`` as an in-memory AnnData (``X``, ``obs``, ``var``), read in chunks."""
    subset = RowSubset(adata, rows)
    blocks = [block for _, _, block in iter_chunks(subset, None, chunk_size)]
    x = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, adata.n_vars))
    if x.dtype != np.float32 and x.dtype.kind == "f":
        x = x.astype(np.float32)
    return ad.AnnData(X=x, obs=adata.obs.iloc[rows].copy(), var=adata.var.copy())


def vote(neighbours: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The most common label among each row's neighbours; ties go to the nearest one's.

    ``neighbours`` holds subsample rows, nearest first; ``labels`` are integer codes.

    Examples
    --------
    >>> vote(np.array([[0, 1, 2], [2, 1, 0]]), np.array([5, 6, 6])).tolist()
    [6, 6]
    >>> vote(np.array([[0, 1]]), np.array([3, 4])).tolist()
    [3]
    """
    codes = labels[neighbours]
    n, k = codes.shape
    counts = np.zeros((n, int(labels.max()) + 1))
    np.add.at(counts, (np.repeat(np.arange(n), k), codes.ravel()), 1.0)
    counts[np.arange(n), codes[:, 0]] += 0.5  # a tie goes to the nearest neighbour's label
    return counts.argmax(axis=1)


def annotate_atlas(
    adata: ad.AnnData,
    *,
    seed: int = 0,
    resolution: float = 1.5,
    reference: np.ndarray | None = None,
    call_cnv: bool = True,
    celltypist_model: str | None = None,
    subsample_cells: int = SUBSAMPLE_CELLS,
    max_cells: int = ATLAS_CELLS,
    neighbours: int = NEIGHBOURS,
    chunk_size: int = 10_000,
) -> pd.DataFrame:
    """Annotate a subsample as :func:`.annotate.annotate_cells` does, then place every other cell.

    Parameters as :func:`neurosig.tl.annotate`; ``neighbours``: subsample cells voting
    per cell. Writes the same ``.obs`` columns as the in-memory path (``cnv_score`` and
    ``cell_type_marker_confidence`` only for subsample cells, ``NaN`` elsewhere), plus
    ``.obs["annotation_subsample"]``, and records the strategy in
    ``.uns["neurosig"]["annotation"]``. Works on a backed AnnData: ``X`` is read in
    chunks, never whole.

    Returns
    -------
    Per-cell table: ``leiden``, ``cell_type_markers``, ``malignant_cnv``, ``cell_type``,
    ``cell_type_source`` and ``in_subsample``.
    """
    rows, per_patient = draw_subsample(adata.obs, subsample_cells, seed=seed)
    sub = read_rows(adata, rows, chunk_size)
    emb = embedding(sub, seed=seed, resolution=resolution)
    sub_reference = None if reference is None else np.asarray(reference, dtype=bool)[rows]
    frame = annotate_cells(
        sub,
        seed=seed,
        resolution=resolution,
        reference=sub_reference,
        call_cnv=call_cnv,
        celltypist_model=celltypist_model,
        clusters=emb.clusters,
    )
    n = adata.n_obs
    in_sub = np.zeros(n, dtype=bool)
    in_sub[rows] = True
    # the type before the copy-number call, with its source (markers or CellTypist)
    typed = (frame["typed_source"].astype(str) + ":" + frame["typed"].astype(str)).to_numpy()
    columns = {
        "leiden": frame["leiden"].astype(str).to_numpy(),
        "cell_type_markers": sub.obs["cell_type_markers"].astype(str).to_numpy(),
        "typed": typed,
        "malignant_cnv": frame["malignant_cnv"].astype(bool).to_numpy(),
    }
    codes, names = {}, {}
    for key, labels in columns.items():
        codes[key], names[key] = pd.factorize(labels, sort=True)
    placed = {key: np.empty(n, dtype=np.int64) for key in columns}
    for key in columns:
        placed[key][rows] = codes[key]
    if not in_sub.all():
        _place(adata, emb, codes, placed, in_sub, neighbours=neighbours, chunk_size=chunk_size)
    values = {key: np.asarray(names[key])[placed[key]] for key in columns}
    # per label (few) first, then per cell by code: no per-cell string work
    split = [str(t).partition(":") for t in names["typed"]]
    type_source = np.array([src for src, _, _ in split], dtype=object)[placed["typed"]]
    type_ = np.array([t for _, _, t in split], dtype=object)[placed["typed"]]
    markers = pd.Index(names["cell_type_markers"])
    malignant = values["malignant_cnv"].astype(bool)
    if call_cnv:
        immune = markers.isin(reference_tier(1))
        malignant &= ~immune[placed["cell_type_markers"]]
        if reference is None:
            normal = markers.isin(reference_tier(1) | reference_tier(2))
            malignant &= ~normal[placed["cell_type_markers"]]
        else:
            malignant &= ~np.asarray(reference, dtype=bool)
        malignant[rows] = frame["malignant_cnv"].astype(bool).to_numpy()
    else:
        malignant[:] = False
    _write_markers(adata, sub, values, rows, emb, call_cnv)
    adata.obs["malignant_cnv"] = malignant
    called_type, called_source = called_labels(type_, type_source, malignant)
    cell_type, source = write_labels(adata, called_type, called_source, malignant, call_cnv)
    adata.obs["annotation_subsample"] = in_sub
    store = _keys.store(adata)
    sub_record = _keys.record(sub)
    if call_cnv and _keys.CNV in sub_record:
        store[_keys.CNV] = {**sub_record[_keys.CNV], "cells": "subsample"}
    if _keys.CELLTYPIST in sub_record:
        store[_keys.CELLTYPIST] = sub_record[_keys.CELLTYPIST]
    store[_keys.ANNOTATION] = {
        "strategy": "subsample",
        "seed": seed,
        "resolution": resolution,
        "cnv": bool(call_cnv),
        "max_cells": int(max_cells),
        "subsample_cells": int(len(rows)),
        "subsample_cap": int(subsample_cells),
        "per_patient": per_patient,
        "assignment": f"vote of the {neighbours} nearest subsample cells in the subsample's PCA",
        "neighbours": int(neighbours),
        "n_pcs": int(emb.loadings.shape[1]),
        "n_placed": int(n - len(rows)),
        "backed": bool(adata.isbacked),
        **source_counts(source),
    }
    return pd.DataFrame(
        {
            "leiden": values["leiden"],
            "cell_type_markers": values["cell_type_markers"],
            "malignant_cnv": malignant,
            "cell_type": cell_type,
            "cell_type_source": source,
            "in_subsample": in_sub,
        },
        index=adata.obs_names,
    )


def _place(
    adata: ad.AnnData,
    emb: Embedding,
    codes: dict[str, np.ndarray],
    placed: dict[str, np.ndarray],
    in_sub: np.ndarray,
    *,
    neighbours: int,
    chunk_size: int,
) -> None:
    """One pass over ``X``: project each chunk's other cells and vote their labels."""
    from sklearn import config_context
    from sklearn.neighbors import NearestNeighbors

    k = min(neighbours, len(emb.coords))
    index = NearestNeighbors(n_neighbors=k).fit(emb.coords)
    for a, b, block in iter_chunks(adata, None, chunk_size):
        other = np.flatnonzero(~in_sub[a:b])
        if other.size == 0:
            continue
        coords = emb.project(block[other])
        # distances in blocks of 128 MB (scikit-learn's default is 1 GB)
        with config_context(working_memory=KNN_MEMORY_MB):
            _, nearest = index.kneighbors(coords)
        for key, labels in codes.items():
            placed[key][a + other] = vote(nearest, labels)


def _write_markers(
    adata: ad.AnnData,
    sub: ad.AnnData,
    values: dict[str, np.ndarray],
    rows: np.ndarray,
    emb: Embedding,
    call_cnv: bool,
) -> None:
    """The marker columns of every cell: voted for placed cells, the subsample's own for the rest."""
    n = adata.n_obs
    clusters = sorted(set(emb.clusters), key=lambda c: (len(c), c))
    adata.obs["leiden"] = pd.Categorical(values["leiden"], categories=clusters)
    adata.obs["cell_type_markers"] = values["cell_type_markers"]
    confidence = np.full(n, np.nan)
    confidence[rows] = sub.obs["cell_type_marker_confidence"].to_numpy()
    adata.obs["cell_type_marker_confidence"] = confidence
    if call_cnv:
        score = np.full(n, np.nan)
        score[rows] = sub.obs["cnv_score"].to_numpy()
        adata.obs["cnv_score"] = score
