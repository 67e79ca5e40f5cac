"""Optional CellTypist annotation from a model file the user supplies.

CellTypist's own models download at run time; neurosig never downloads one. Give the
path of a model you have (``celltypist.models.Model.load``-able ``.pkl``); its labels are
mapped onto neurosig's vocabulary by synonym, and labels with no match become
``unknown`` (listed in ``.uns``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import anndata as ad
import pandas as pd

from .. import _keys
from ..errors import InputDataError
from ..knowledge.vocabulary import map_label


def annotate_celltypist(adata: ad.AnnData, model: str | Path, *, majority_voting: bool = True) -> pd.Series:
    """CellTypist labels mapped to the vocabulary (``.obs["cell_type_celltypist"]``).

    ``X`` must be log1p of counts per 10,000 (neurosig's harmonised scale, which is what
    CellTypist expects). With ``majority_voting`` the Leiden clusters of
    ``.obs["leiden"]`` (when present) are used for the vote.
    """
    try:
        import celltypist
    except ImportError:
        raise ImportError(
            "CellTypist annotation needs the optional dependency: pip install 'neurosig[celltypist]'"
        ) from None
    path = Path(model)
    if not path.is_file():
        raise InputDataError(
            f"CellTypist model file {path} not found. neurosig never downloads models: fetch one "
            "yourself (e.g. celltypist.models.download_models on a machine with internet) and pass its path."
        )
    loaded = celltypist.models.Model.load(str(path))
    query = ad.AnnData(
        X=adata.X, obs=pd.DataFrame(index=adata.obs_names), var=pd.DataFrame(index=adata.var_names)
    )
    kwargs = {"majority_voting": majority_voting}
    if majority_voting and "leiden" in adata.obs:
        kwargs["over_clustering"] = adata.obs["leiden"].astype(str).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = celltypist.annotate(query, model=loaded, **kwargs)
    column = "majority_voting" if majority_voting else "predicted_labels"
    raw = pd.Series(result.predicted_labels[column].astype(str).to_numpy(), index=adata.obs_names)
    mapped = raw.map(lambda lab: map_label(lab) or "unknown")
    adata.obs["cell_type_celltypist_label"] = raw.to_numpy()
    adata.obs["cell_type_celltypist"] = mapped.to_numpy()
    _keys.store(adata)[_keys.CELLTYPIST] = {
        "model": str(path),
        "majority_voting": majority_voting,
        "unmapped_labels": sorted(set(raw[mapped == "unknown"])),
    }
    return mapped
