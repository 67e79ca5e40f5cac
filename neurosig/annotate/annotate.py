"""Fill in cell types and malignancy where authors gave none; author labels always win.

``annotate`` runs the marker-based cell types (:mod:`.cell_types`) and the copy-number
malignant call (:mod:`.malignant`), then, for every cell whose author label is missing
(``cell_type`` ``unknown``), sets ``cell_type`` to ``malignant`` (CNV) or the marker type
(or the CellTypist type, when the user gives a model file),
and ``malignant`` from the CNV call where the authors left it unknown. Each cell records
where its label came from in ``.obs["cell_type_source"]``: ``author``, ``markers``,
``celltypist`` or ``cnv``.

Above :data:`neurosig._scale.ATLAS_CELLS` cells, or on a backed file, the same steps run
on a subsample and the other cells are placed by :mod:`.atlas`.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from .. import _keys
from .._scale import ATLAS_CELLS, SUBSAMPLE_CELLS
from ..errors import InputDataError
from ..knowledge.vocabulary import lineage_of, vocabulary
from .cell_types import annotate_cell_types
from .celltypist import annotate_celltypist
from .malignant import call_malignant


def needs_annotation(adata: ad.AnnData) -> bool:
    """True when some cells have no author cell type."""
    return "cell_type" not in adata.obs or (adata.obs["cell_type"].astype(str) == "unknown").any()


def annotate(
    adata: ad.AnnData,
    *,
    seed: int = 0,
    resolution: float = 1.5,
    reference: np.ndarray | None = None,
    reference_key: str | None = None,
    reference_cat: list[str] | None = None,
    call_cnv: bool = True,
    celltypist_model: str | None = None,
    max_cells: int = ATLAS_CELLS,
    subsample_cells: int = SUBSAMPLE_CELLS,
    chunk_size: int = 10_000,
) -> pd.DataFrame:
    """Annotate cell types by markers and malignancy by copy number, keeping author labels.

    Up to ``max_cells`` cells in memory, every cell is embedded, clustered and
    copy-number profiled. Above it, or when ``X`` is backed (on disk), a seeded
    subsample stratified by patient is annotated that way and every other cell takes
    the labels of its nearest subsample cells in the subsample's PCA, in one streamed
    pass over the matrix (:mod:`.atlas`; docs/scale.md): memory stays flat in cells.

    Parameters
    ----------
    adata
        Harmonised AnnData (log-normalised ``X``), in memory or backed.
    seed, resolution
        Seed (of the embedding and the subsample) and Leiden resolution.
    reference, reference_key, reference_cat
        The normal reference for copy-number inference: a boolean mask, or an ``.obs``
        column and the categories that are normal. Default: marker-annotated immune,
        oligodendrocyte and vascular clusters.
    call_cnv
        Run the copy-number step (needs gene positions and a normal reference).
    celltypist_model
        Path of a CellTypist model file: its labels (mapped to the vocabulary) replace the
        marker types where they map; never downloaded.
    max_cells
        Cells above which the subsample strategy is used (default
        :data:`neurosig._scale.ATLAS_CELLS`); a backed ``X`` always uses it.
    subsample_cells
        Cells in the subsample (the strategy's cap; default 50,000).
    chunk_size
        Cells per chunk of the streamed assignment pass.

    Returns
    -------
    Per-cell table of the marker type, its confidence, CNV score and calls. For the
    subsample strategy, the cells are every cell, and the per-term marker scores
    are left out (computed for the subsample only).
    """
    if reference is None and reference_key is not None:
        if reference_key not in adata.obs:
            raise InputDataError(f"No column {reference_key!r} in .obs for the normal reference.")
        reference = adata.obs[reference_key].astype(str).isin(reference_cat or []).to_numpy()
    options = {
        "seed": seed,
        "resolution": resolution,
        "reference": reference,
        "call_cnv": call_cnv,
        "celltypist_model": celltypist_model,
    }
    if adata.isbacked or adata.n_obs > max_cells:
        from .atlas import annotate_atlas

        return annotate_atlas(
            adata, subsample_cells=subsample_cells, max_cells=max_cells, chunk_size=chunk_size, **options
        )
    return annotate_cells(adata, **options)


def annotate_cells(
    adata: ad.AnnData,
    *,
    seed: int = 0,
    resolution: float = 1.5,
    reference: np.ndarray | None = None,
    call_cnv: bool = True,
    celltypist_model: str | None = None,
    clusters: pd.Series | None = None,
) -> pd.DataFrame:
    """:func:`annotate` over every cell of an in-memory AnnData (parameters as there).

    ``clusters``: Leiden clusters already computed by
    :func:`.cell_types.embedding` with the same ``seed`` and ``resolution``.
    The returned table also holds ``typed`` and ``typed_source``: each cell's type
    before the copy-number call (markers or CellTypist) and where it came from.
    """
    markers = annotate_cell_types(adata, seed=seed, resolution=resolution, clusters=clusters)
    marker_type = adata.obs["cell_type_markers"].astype(str)
    source_of_type = pd.Series("markers", index=adata.obs_names)
    if celltypist_model is not None:
        ct = annotate_celltypist(adata, celltypist_model)
        use = (ct != "unknown").to_numpy()
        marker_type = marker_type.where(~use, ct)
        source_of_type[use] = "celltypist"
    malignant_cnv = pd.Series(False, index=adata.obs_names)
    if call_cnv:
        malignant_cnv = call_malignant(adata, reference=reference)["malignant"]
    called_type, called_source = called_labels(
        marker_type.to_numpy(), source_of_type.to_numpy(), malignant_cnv.to_numpy()
    )
    cell_type, source = write_labels(adata, called_type, called_source, malignant_cnv.to_numpy(), call_cnv)
    _keys.store(adata)[_keys.ANNOTATION] = {
        "strategy": "all cells",
        "seed": seed,
        "resolution": resolution,
        "cnv": bool(call_cnv),
        **source_counts(source),
    }
    return markers.assign(
        malignant_cnv=malignant_cnv.to_numpy(),
        cell_type=cell_type,
        cell_type_source=source,
        typed=marker_type.to_numpy(),
        typed_source=source_of_type.to_numpy(),
    )


def called_labels(
    type_: np.ndarray, source_of_type: np.ndarray, malignant_cnv: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The label a cell without an author label gets, and its source: CNV wins over the type."""
    malignant_cnv = np.asarray(malignant_cnv, dtype=bool)
    return (
        np.where(malignant_cnv, "malignant", type_).astype(object),
        np.where(malignant_cnv, "cnv", source_of_type).astype(object),
    )


def source_counts(source: np.ndarray) -> dict[str, int]:
    """Cells labelled by the authors, the markers and the copy number (the record's counts)."""
    return {f"n_{s}": int((source == s).sum()) for s in ("author", "markers", "cnv")}


def write_labels(
    adata: ad.AnnData,
    called_type: np.ndarray,
    called_source: np.ndarray,
    malignant_cnv: np.ndarray,
    call_cnv: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Write ``cell_type``, ``cell_type_source``, ``lineage`` and ``malignant``; author labels win.

    Returns the cell types and their sources.
    """
    if "cell_type" in adata.obs:
        labels = adata.obs["cell_type"]
        author = labels.astype(object).where(labels.notna(), "unknown").astype(str)
    else:
        author = pd.Series("unknown", index=adata.obs_names)
    missing = (author == "unknown").to_numpy()
    cell_type = np.where(missing, called_type, author.to_numpy())
    source = np.where(missing, called_source, "author")
    adata.obs["cell_type"] = pd.Categorical(cell_type, categories=list(vocabulary()))
    adata.obs["cell_type_source"] = pd.Categorical(
        source, categories=["author", "markers", "celltypist", "cnv"]
    )
    adata.obs["lineage"] = adata.obs["cell_type"].astype(str).map(lineage_of).astype("category")
    if call_cnv:
        current = (
            adata.obs["malignant"]
            if "malignant" in adata.obs
            else pd.Series(pd.NA, index=adata.obs_names, dtype="boolean")
        )
        current = current.astype("boolean")
        unknown = current.isna().to_numpy()
        filled = current.copy()
        filled[unknown] = np.asarray(malignant_cnv, dtype=bool)[unknown]
        adata.obs["malignant"] = filled
    return cell_type, source
