"""Fill in cell types and malignancy where authors gave none; author labels always win.

``annotate`` runs the marker-based cell types (:mod:`.cell_types`) and the copy-number
malignant call (:mod:`.malignant`), then, for every cell whose author label is missing
(``cell_type`` ``unknown``), sets ``cell_type`` to ``malignant`` (CNV) or the marker type
(or the CellTypist type, when the user gives a model file),
and ``malignant`` from the CNV call where the authors left it unknown. Each cell records
where its label came from in ``.obs["cell_type_source"]``: ``author``, ``markers``,
``celltypist`` or ``cnv``.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from .. import _keys
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
) -> pd.DataFrame:
    """Annotate cell types by markers and malignancy by copy number, keeping author labels.

    Parameters
    ----------
    adata
        Harmonised AnnData (log-normalised ``X``).
    seed, resolution
        Seed and Leiden resolution of the embedding.
    reference, reference_key, reference_cat
        The normal reference for copy-number inference: a boolean mask, or an ``.obs``
        column and the categories that are normal. Default: marker-annotated immune,
        oligodendrocyte and vascular clusters.
    call_cnv
        Run the copy-number step (needs gene positions and a normal reference).
    celltypist_model
        Path of a CellTypist model file: its labels (mapped to the vocabulary) replace the
        marker types where they map; never downloaded.

    Returns
    -------
    Per-cell table of the marker type, its confidence, CNV score and calls.
    """
    if reference is None and reference_key is not None:
        if reference_key not in adata.obs:
            raise InputDataError(f"No column {reference_key!r} in .obs for the normal reference.")
        reference = adata.obs[reference_key].astype(str).isin(reference_cat or []).to_numpy()
    markers = annotate_cell_types(adata, seed=seed, resolution=resolution)
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
    if "cell_type" in adata.obs:
        labels = adata.obs["cell_type"]
        author = labels.astype(object).where(labels.notna(), "unknown").astype(str)
    else:
        author = pd.Series("unknown", index=adata.obs_names)
    missing = (author == "unknown").to_numpy()
    new_type = np.where(malignant_cnv.to_numpy(), "malignant", marker_type.to_numpy())
    cell_type = np.where(missing, new_type, author.to_numpy())
    source = np.where(missing, np.where(malignant_cnv.to_numpy(), "cnv", source_of_type.to_numpy()), "author")
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
        filled[unknown] = malignant_cnv.to_numpy()[unknown]
        adata.obs["malignant"] = filled
    _keys.store(adata)[_keys.ANNOTATION] = {
        "seed": seed,
        "resolution": resolution,
        "cnv": bool(call_cnv),
        "n_author": int((source == "author").sum()),
        "n_markers": int((source == "markers").sum()),
        "n_cnv": int((source == "cnv").sum()),
    }
    return markers.assign(
        malignant_cnv=malignant_cnv.to_numpy(), cell_type=cell_type, cell_type_source=source
    )
