"""Figures of the communication table: a dot plot and a diagram of the review's axis."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import _keys
from ..errors import InputDataError
from ..knowledge import load_axis

# where each cell type sits in the axis diagram (neurons left, tumour centre, immune right)
_LAYOUT = {
    "neuron": (0.0, 0.5),
    "OPC": (0.0, 0.15),
    "astrocyte": (0.0, 0.85),
    "malignant": (0.5, 0.5),
    "microglia": (1.0, 0.9),
    "macrophage": (1.0, 0.75),
    "myeloid": (1.0, 0.6),
    "monocyte": (1.0, 0.45),
    "MDSC": (1.0, 0.3),
    "T_cell": (0.75, 0.05),
    "T_CD8": (0.5, 0.05),
    "T_CD4": (0.25, 0.05),
    "Treg": (1.0, 0.15),
    "NK": (0.75, 0.95),
    "B": (0.5, 0.95),
    "dendritic": (0.25, 0.95),
}


def _table(data) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    try:
        return data.uns[_keys.UNS][_keys.COMMUNICATION]["table"]
    except (AttributeError, KeyError):
        raise InputDataError(
            "No communication table: run neurosig.tl.communicate(adata) first, or pass the table."
        ) from None


def communication_dotplot(
    data,
    *,
    axis_only: bool = True,
    alpha: float = 0.05,
    top: int = 40,
    p_floor: float = 1e-3,
    ax=None,
):
    """Dots per interaction (rows) and sender -> receiver (columns).

    Colour is ``lr_means``; size is ``-log10(p)`` (p floored at ``p_floor``, 1 / the
    default 1,000 shuffles); a black
    edge marks ``qvalue < alpha``. ``axis_only`` keeps rows on the review's axis; else
    the ``top`` rows by ``lr_means`` among significant ones.

    Parameters
    ----------
    data
        An AnnData after :func:`neurosig.tl.communicate`, or its table.
    axis_only
        Keep only the rows on the review's axis.
    alpha
        q-value below which a dot is edged in black.
    top
        Without ``axis_only``: rows kept, by ``lr_means`` among significant ones.
    p_floor
        Smallest p drawn.
    ax
        Axes to draw into (default: a new figure).
    """
    import matplotlib.pyplot as plt

    t = _table(data)
    t = t[t["on_axis"]] if axis_only else t[t["qvalue"] < alpha].head(top)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 6))
    if t.empty:
        ax.text(0.5, 0.5, "no interaction on the axis is expressed here", ha="center", va="center")
        ax.set_axis_off()
        return ax
    t = t.assign(
        pair=t["sender"].astype(str) + " -> " + t["receiver"].astype(str),
        lr=t["ligand_complex"].astype(str) + " -> " + t["receptor_complex"].astype(str),
    )
    if "claim" in t:
        t["lr"] = np.where(t["claim"].astype(str) != "", "[" + t["claim"].astype(str) + "] ", "") + t["lr"]
    cols = sorted(t["pair"].unique())
    rows = sorted(t["lr"].unique())
    x = t["pair"].map({c: i for i, c in enumerate(cols)})
    y = t["lr"].map({r: i for i, r in enumerate(rows)})
    n_perms = (
        max(1, int(1 / max(t["pvalue"][t["pvalue"] > 0].min(), 1e-3))) if (t["pvalue"] > 0).any() else 1000
    )
    size = 20 + 40 * -np.log10(np.maximum(t["pvalue"].fillna(1).to_numpy(), 1 / n_perms))
    sig = (t["qvalue"] < alpha).to_numpy()
    pts = ax.scatter(
        x, y, s=size, c=t["lr_means"], cmap="viridis", edgecolors=np.where(sig, "black", "none"), linewidths=1
    )
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.figure.colorbar(pts, ax=ax, label="mean of ligand and receptor means")
    ax.set_title(f"Ligand-receptor communication (size: -log10 p; edge: q < {alpha:.2g})", fontsize=9)
    ax.figure.tight_layout()
    return ax


def axis_diagram(data, *, alpha: float = 0.05, ax=None):
    """The review's axis: one arrow per sender -> receiver with an on-axis pair.

    Arrow width is the largest ``lr_means`` of its pairs; red and solid where some pair
    has ``qvalue < alpha``, grey and dashed otherwise; the label lists each claim with
    its strongest ligand. Claims with no expressed pair are listed
    below the diagram as not detected.

    Parameters
    ----------
    data
        The communication table, or an AnnData holding it in ``.uns['neurosig']['communication']``.
    alpha
        q-value below which an arrow is significant.
    ax
        Axes to draw into (default: a new figure).
    """
    import matplotlib.pyplot as plt

    t = _table(data)
    t = t[t["on_axis"]]
    claims = load_axis()["claims"]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 6))
    present = set(t["sender"]) | set(t["receiver"])
    for ct in present:
        px, py = _LAYOUT.get(ct, (0.5, 0.95))
        ax.annotate(
            ct, (px, py), ha="center", va="center", fontsize=9, bbox={"boxstyle": "round", "fc": "#eeeeee"}
        )
    ids = t["claim"].astype(str).str.split(";")
    not_detected = [
        cid for cid, claim in claims.items() if claim["pairs"] and not ids.map(lambda x, c=cid: c in x).any()
    ]
    for (snd, rcv), grp in t.groupby(["sender", "receiver"]):
        if snd == rcv:
            continue
        significant = bool((grp["qvalue"] < alpha).any())
        (x0, y0), (x1, y1) = _LAYOUT.get(snd, (0.5, 0.95)), _LAYOUT.get(rcv, (0.5, 0.95))
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "->",
                "lw": 0.5 + 3 * float(grp["lr_means"].max()),
                "ls": "-" if significant else "--",
                "color": "tab:red" if significant else "grey",
                "shrinkA": 18,
                "shrinkB": 18,
            },
        )
        best = grp.sort_values("lr_means", ascending=False).drop_duplicates("claim")
        label = "\n".join(f"{c}: {lig}" for c, lig in zip(best["claim"], best["ligand_complex"], strict=True))
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, label, fontsize=6, ha="center", va="center")
    ax.set_xlim(-0.2, 1.2)
    ax.set_ylim(-0.1, 1.1)
    ax.set_axis_off()
    note = "not detected: " + ", ".join(not_detected) if not_detected else "every claim has a detected pair"
    ax.set_title(f"Neuron -> immune -> tumour axis (red: q < {alpha:g})\n{note}", fontsize=9)
    return ax
