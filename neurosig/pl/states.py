"""Neftel 2019 two-dimensional state map of malignant cells."""

from __future__ import annotations

import anndata as ad
import numpy as np

from .. import _keys
from ..errors import InputDataError

STATE_COLOURS = {"MES": "#d62728", "AC": "#2ca02c", "OPC": "#1f77b4", "NPC": "#9467bd"}


MAX_POINTS = 20_000
"""Cells drawn at most; above it a seeded subsample is drawn (and the figure says so)."""


def neftel_state_map(adata: ad.AnnData, *, ax=None, max_points: int | None = MAX_POINTS, seed: int = 0):
    """Scatter of ``.obsm["neftel_state_map"]`` coloured by ``.obs["neftel_state"]``.

    Quadrants as in Neftel et al. 2019 (Fig. 3): OPC-like top left, NPC-like top right,
    AC-like bottom left, MES-like bottom right.

    Parameters
    ----------
    adata
        Cells with Neftel states (:func:`neurosig.tl.neftel_states`).
    ax
        Axes to draw into (default: a new figure).
    max_points
        Most cells drawn: with more cells with a state, a seeded uniform subsample of
        ``max_points`` is drawn (the legend still counts every cell and the title says how
        many are shown). ``None`` draws every cell.
    seed
        Seed of the subsample.
    """
    import matplotlib.pyplot as plt

    if _keys.NEFTEL_STATE_MAP not in adata.obsm or "neftel_state" not in adata.obs:
        raise InputDataError("No Neftel states; run neurosig.tl.neftel_states(adata) after scoring.")
    coords = np.asarray(adata.obsm[_keys.NEFTEL_STATE_MAP], dtype=float)
    state = adata.obs["neftel_state"].astype(str).to_numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    with_state = np.isin(state, list(STATE_COLOURS))
    shown = with_state.copy()
    if max_points is not None and with_state.sum() > max_points:
        keep = np.random.default_rng(seed).choice(np.flatnonzero(with_state), max_points, replace=False)
        shown[:] = False
        shown[keep] = True
        ax.set_title(
            f"seeded subsample (seed {seed}): {max_points:,} of {with_state.sum():,} cells drawn",
            fontsize=8,
        )
    for s, colour in STATE_COLOURS.items():
        hit = state == s
        drawn = hit & shown
        ax.scatter(coords[drawn, 0], coords[drawn, 1], s=6, c=colour, label=f"{s}-like ({hit.sum()})")
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    lim = np.nanmax(np.abs(coords)) * 1.1 if np.isfinite(coords).any() else 1
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    for (x, y), s in zip([(-1, 1), (1, 1), (-1, -1), (1, -1)], ["OPC", "NPC", "AC", "MES"], strict=True):
        ax.text(
            x * lim * 0.95,
            y * lim * 0.95,
            s,
            ha="left" if x < 0 else "right",
            va="top" if y > 0 else "bottom",
        )
    ax.set_xlabel("relative meta-module score")
    ax.set_ylabel("OPC/NPC - AC/MES")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.figure.tight_layout()
    return ax
