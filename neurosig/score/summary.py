"""Per-patient x cell-type summaries of per-cell scores."""

from __future__ import annotations

from collections.abc import Sequence

import anndata as ad
import pandas as pd

from .. import _keys
from ..errors import InputDataError


def score_summary(
    adata: ad.AnnData,
    key: str = _keys.SCORE_GENES,
    *,
    groupby: Sequence[str] = ("dataset", "patient", "cell_type"),
    cell_types: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Mean, median and cell count of every signature per group (default patient x cell type).

    Long format: one row per group and signature. Requested ``cell_types`` with no cell
    raise instead of vanishing from the table.

    Parameters
    ----------
    adata
        Scored cells.
    key
        ``.obsm`` key of the scores.
    groupby
        ``.obs`` columns whose combinations are the groups.
    cell_types
        Only these ``.obs['cell_type']`` values (default: all).
    """
    if key not in adata.obsm:
        raise InputDataError(f"No scores in .obsm[{key!r}]; run neurosig.tl.score(...) first.")
    scores = pd.DataFrame(adata.obsm[key], index=adata.obs_names)
    missing = [g for g in groupby if g not in adata.obs]
    if missing:
        raise InputDataError(f"obs lacks the grouping columns {missing}.")
    obs = adata.obs[list(groupby)].astype(str)
    if cell_types is not None:
        present = set(adata.obs["cell_type"].astype(str))
        empty = [t for t in cell_types if t not in present]
        if empty:
            raise InputDataError(
                f"No cells of type {empty} in this dataset: the summary would be empty for them. "
                f"Types present: {sorted(present)}."
            )
        keep = adata.obs["cell_type"].astype(str).isin(cell_types).to_numpy()
        scores, obs = scores[keep], obs[keep]
    # grouped wide (cells x signatures), then stacked: a long table of cells x signatures rows,
    # each with its group's names, would take gigabytes at a million cells
    grouped = scores.groupby([obs[g] for g in groupby], observed=True)
    sigs = sorted(scores.columns)  # the long table's order: groups, then signatures sorted
    stats = {name: getattr(grouped, name)()[sigs].stack(future_stack=True) for name in ("mean", "median")}
    out = pd.DataFrame(stats)
    out.index = out.index.set_names([*groupby, "signature"])
    out.insert(0, "n_cells", grouped.size().reindex(out.index.droplevel(-1)).to_numpy())
    return out.reset_index()
