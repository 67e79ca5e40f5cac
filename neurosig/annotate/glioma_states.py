"""Neftel 2019 glioblastoma cellular states and their two-dimensional state map.

As Neftel et al. 2019 (Cell 178:835, Fig. 3) define them: the state score of MES and NPC
is the larger of their two meta-module scores (MES1/MES2, NPC1/NPC2); each malignant cell
takes the state with the highest score. The map's vertical axis is
``D = max(SC_OPC, SC_NPC) - max(SC_AC, SC_MES)``; the horizontal axis is
``log2(|SC_NPC - SC_OPC| + 1)`` for cells with ``D > 0`` and ``log2(|SC_MES - SC_AC| + 1)``
for ``D < 0``, signed so that OPC-like and AC-like cells sit on the left and NPC-like
and MES-like cells on the right.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ..errors import InputDataError

#: State -> meta-module signature ids of the library.
NEFTEL_STATES = {
    "MES": ("Neftel2019_MES1", "Neftel2019_MES2"),
    "AC": ("Neftel2019_AC",),
    "OPC": ("Neftel2019_OPC",),
    "NPC": ("Neftel2019_NPC1", "Neftel2019_NPC2"),
}


def state_scores(scores: pd.DataFrame, modules: dict[str, tuple[str, ...]] = NEFTEL_STATES) -> pd.DataFrame:
    """Per-state scores (max over a state's meta-modules) from per-module scores."""
    missing = [m for ms in modules.values() for m in ms if m not in scores.columns]
    if missing:
        raise InputDataError(
            f"Scores lack the meta-modules {missing}; score them first, e.g. "
            "neurosig.tl.score(adata, [ids...], method='tirosh')."
        )
    return pd.DataFrame({s: scores[list(ms)].max(axis=1) for s, ms in modules.items()}, index=scores.index)


def assign_states(states: pd.DataFrame) -> pd.Series:
    """The state with the highest score per cell."""
    return states.idxmax(axis=1)


def state_map(states: pd.DataFrame) -> pd.DataFrame:
    """Neftel's two-dimensional coordinates (x, y) per cell."""
    d = states[["OPC", "NPC"]].max(axis=1) - states[["AC", "MES"]].max(axis=1)
    upper = (states["NPC"] - states["OPC"]).to_numpy()
    lower = (states["MES"] - states["AC"]).to_numpy()
    diff = np.where(d.to_numpy() > 0, upper, lower)
    x = np.sign(diff) * np.log2(np.abs(diff) + 1)
    return pd.DataFrame({"x": x, "y": d.to_numpy()}, index=states.index)


def neftel_states(
    adata: ad.AnnData, key: str = "neurosig_tirosh", *, malignant_only: bool = True
) -> pd.DataFrame:
    """Assign Neftel states and map coordinates from module scores in ``.obsm[key]``.

    Writes ``.obs["neftel_state"]`` (MES/AC/OPC/NPC; ``NA`` for non-malignant cells when
    ``malignant_only``) and ``.obsm["neftel_state_map"]`` (x, y). Returns the state
    scores with the state and coordinates.
    """
    if key not in adata.obsm:
        raise InputDataError(f"No scores in .obsm[{key!r}]; run neurosig.tl.score(...) first.")
    states = state_scores(pd.DataFrame(adata.obsm[key], index=adata.obs_names))
    coords = state_map(states)
    call = assign_states(states)
    if malignant_only and "malignant" in adata.obs:
        mal = adata.obs["malignant"].fillna(False).astype(bool).to_numpy()
        call[~mal] = "NA"
        coords.loc[~mal] = np.nan
    adata.obs["neftel_state"] = pd.Categorical(call, categories=["MES", "AC", "OPC", "NPC", "NA"])
    adata.obsm["neftel_state_map"] = coords
    return states.assign(state=call, x=coords["x"], y=coords["y"])
