"""Figures of signature scores: distributions by cell type, and a correlation heatmap."""

from __future__ import annotations

from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd

from .. import _keys
from ..errors import InputDataError


def score_distributions(
    adata: ad.AnnData,
    signatures: Sequence[str],
    key: str = _keys.SCORE_GENES,
    *,
    groupby: str = "cell_type",
    ncols: int = 4,
):
    """Box plots of each signature's per-cell score by ``groupby`` (one panel per signature).

    Signatures that were not scored (refused for coverage) are listed in the figure's
    title instead of drawn. Returns the figure.

    Parameters
    ----------
    adata
        Scored cells.
    signatures
        Signatures to draw.
    key
        ``.obsm`` key of the scores.
    groupby
        ``.obs`` column of the boxes.
    ncols
        Panels per row.
    """
    import matplotlib.pyplot as plt

    if key not in adata.obsm:
        raise InputDataError(f"No scores in .obsm[{key!r}]; run neurosig.tl.score(adata) first.")
    scores = pd.DataFrame(adata.obsm[key], index=adata.obs_names)
    drawn = [s for s in signatures if s in scores and scores[s].notna().any()]
    if not drawn:
        raise InputDataError(f"None of {list(signatures)} was scored under .obsm[{key!r}].")
    labels = adata.obs[groupby].astype(str)
    order = labels.value_counts().sort_index().index.tolist()
    nrows = -(-len(drawn) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), squeeze=False)
    for ax, sig in zip(axes.ravel(), drawn, strict=False):
        data = [scores.loc[(labels == g).to_numpy(), sig].dropna().to_numpy() for g in order]
        ax.boxplot(data, tick_labels=order, showfliers=False, widths=0.6)
        ax.set_title(sig, fontsize=8)
        ax.tick_params(axis="x", labelrotation=90, labelsize=7)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes.ravel()[len(drawn) :]:
        ax.axis("off")
    skipped = [s for s in signatures if s not in drawn]
    if skipped:
        fig.suptitle("not scored (gene coverage): " + ", ".join(skipped), fontsize=8)
    fig.tight_layout()
    return fig


def correlation_heatmap(corr: pd.DataFrame, *, title: str = "", ax=None):
    """A signatures x signatures correlation matrix, ordered by average-linkage clustering.

    Parameters
    ----------
    corr
        Signatures x signatures correlations (:func:`neurosig.tl.signature_correlations`).
    title
        Title of the axes.
    ax
        Axes to draw into (default: a new figure).
    """
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    if corr.shape[0] > 2:
        dist = squareform(np.clip(1 - corr.to_numpy(), 0, 2), checks=False)
        order = leaves_list(linkage(dist, method="average"))
        corr = corr.iloc[order, order]
    if ax is None:
        size = 2 + 0.18 * len(corr)
        _, ax = plt.subplots(figsize=(size + 1.5, size))
    im = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(corr)), corr.columns, rotation=90, fontsize=6)
    ax.set_yticks(range(len(corr)), corr.index, fontsize=6)
    ax.figure.colorbar(im, ax=ax, shrink=0.6, label="Spearman rho")
    ax.set_title(title, fontsize=9)
    ax.figure.tight_layout()
    return ax
