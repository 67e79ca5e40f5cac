"""Correlations between signature scores within a cell population, patient-aware."""

from __future__ import annotations

from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd

from .. import _keys
from ..errors import InputDataError


def signature_correlations(
    adata: ad.AnnData,
    key: str = _keys.SCORE_GENES,
    *,
    cell_types: Sequence[str] = ("malignant",),
    signatures: Sequence[str] | None = None,
    groupby: str | None = "patient",
    min_cells: int = 20,
) -> pd.DataFrame:
    """Spearman correlation between signature scores in ``cell_types`` (signatures x signatures).

    With ``groupby`` (default: patient), correlations are computed within each group of at
    least ``min_cells`` cells and averaged on Fisher's z scale, weighting groups by
    ``n - 3``: cells of one patient are not independent replicates of another's, and a
    between-patient difference cannot masquerade as a within-tumour correlation. With
    ``groupby=None`` all cells are pooled. Signatures that are constant or missing in the
    population are left out. ``.attrs["groups"]`` lists the groups used and their cells.

    Parameters
    ----------
    adata
        Scored cells.
    key
        ``.obsm`` key of the scores.
    cell_types
        The ``.obs['cell_type']`` values whose cells are correlated.
    signatures
        Signatures to correlate (default: every one scored).
    groupby
        ``.obs`` column of the groups to correlate within, or ``None`` to pool all cells.
    min_cells
        Smallest group used.
    """
    if key not in adata.obsm:
        raise InputDataError(f"No scores in .obsm[{key!r}]; run neurosig.tl.score(adata) first.")
    scores = pd.DataFrame(adata.obsm[key], index=adata.obs_names)
    if signatures is not None:
        absent = [s for s in signatures if s not in scores]
        if absent:
            raise InputDataError(f"Signatures {absent} were not scored under .obsm[{key!r}].")
        scores = scores[list(signatures)]
    keep = adata.obs["cell_type"].astype(str).isin(cell_types).to_numpy()
    if not keep.any():
        raise InputDataError(f"No {'/'.join(cell_types)} cells to correlate scores in.")
    scores = scores.loc[keep]
    scores = scores.loc[:, scores.notna().all() & (scores.nunique() > 1)]
    if groupby is None:
        groups = {"all": scores}
    else:
        labels = adata.obs.loc[keep, groupby].astype(str)
        groups = {g: s for g, s in scores.groupby(labels.to_numpy()) if len(s) >= min_cells}
        if not groups:
            raise InputDataError(
                f"No {groupby} has {min_cells} or more {'/'.join(cell_types)} cells; lower min_cells "
                "or pass groupby=None to pool cells."
            )
    z_sum = np.zeros((scores.shape[1], scores.shape[1]))
    weight = np.zeros_like(z_sum)
    for s in groups.values():
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.corrcoef(s.rank().to_numpy().T)  # Spearman: Pearson of average ranks, as scipy
        ok = np.isfinite(rho)  # a score constant within a group says nothing about that pair
        w = max(len(s) - 3, 1)
        z_sum[ok] += w * np.arctanh(np.clip(rho[ok], -0.999999, 0.999999))
        weight[ok] += w
    with np.errstate(invalid="ignore"):
        out = np.tanh(z_sum / weight)
    np.fill_diagonal(out, 1.0)
    table = pd.DataFrame(out, index=scores.columns, columns=scores.columns)
    table.attrs["groups"] = {g: len(s) for g, s in groups.items()}
    return table
