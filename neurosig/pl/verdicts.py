"""The verdict matrix: claims x datasets (and pooled rows), colour = verdict, text = effect and n."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputDataError

#: Colour of each verdict word.
VERDICT_COLOURS = {
    "supported": "#2e7d32",
    "contradicted": "#c62828",
    "negligible": "#9e9e9e",
    "inconclusive": "#fff3c4",
    "not testable": "#ffffff",
}


def verdict_matrix(evidence: pd.DataFrame, *, datasets: list[str] | None = None, ax=None):
    """Claims in rows, datasets (pooled rows last) in columns; each cell its verdict, effect and n.

    Parameters
    ----------
    evidence
        An evidence table (:func:`neurosig.claims.pool_evidence` or ``evidence.csv``).
    datasets
        Columns to show, in order (default: every dataset, the pooled rows last).
    ax
        Axes to draw into (default: a new figure sized to the table).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    if evidence.empty:
        raise InputDataError("The evidence table is empty: nothing to draw.")
    cols = datasets or sorted(
        evidence["dataset"].astype(str).unique(), key=lambda d: (d.startswith("pooled"), d)
    )
    claims = list(dict.fromkeys(evidence["claim"]))
    table = evidence.drop_duplicates(["claim", "dataset"]).set_index(["claim", "dataset"])
    if ax is None:
        _, ax = plt.subplots(figsize=(1.1 + 0.75 * len(cols), 0.8 + 0.32 * len(claims)))
    for i, claim in enumerate(claims):
        for j, ds in enumerate(cols):
            if (claim, ds) not in table.index:
                continue
            r = table.loc[(claim, ds)]
            verdict = str(r["verdict"])
            ax.add_patch(
                Rectangle((j, i), 1, 1, facecolor=VERDICT_COLOURS.get(verdict, "white"), edgecolor="0.8")
            )
            effect = float(r["effect"]) if pd.notna(r["effect"]) else np.nan
            if np.isfinite(effect):
                n = int(r["n_patients"]) if pd.notna(r["n_patients"]) else 0
                dark = verdict in ("supported", "contradicted")
                ax.text(
                    j + 0.5,
                    i + 0.5,
                    f"{effect:+.2f}\nn={n}",
                    ha="center",
                    va="center",
                    fontsize=5,
                    color="white" if dark else "black",
                )
    ax.set_xlim(0, len(cols))
    ax.set_ylim(len(claims), 0)
    ax.set_xticks(np.arange(len(cols)) + 0.5, cols, rotation=90, fontsize=6)
    ax.set_yticks(np.arange(len(claims)) + 0.5, claims, fontsize=6)
    ax.legend(
        handles=[Patch(facecolor=c, edgecolor="0.6", label=v) for v, c in VERDICT_COLOURS.items()],
        fontsize=6,
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
    )
    ax.figure.tight_layout()
    return ax
