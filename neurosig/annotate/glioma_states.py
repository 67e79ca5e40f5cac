"""Neftel 2019 glioblastoma cellular states and their two-dimensional state map.

As Neftel et al. 2019 (Cell 178:835, Fig. 3) define them: the state score of MES and NPC
is the larger of their two meta-module scores (MES1/MES2, NPC1/NPC2); each malignant cell
takes the state with the highest score. The map's vertical axis is
``D = max(SC_OPC, SC_NPC) - max(SC_AC, SC_MES)``; the horizontal axis is
``log2(|SC_NPC - SC_OPC| + 1)`` for cells with ``D > 0`` and ``log2(|SC_MES - SC_AC| + 1)``
for ``D < 0``, signed so that OPC-like and AC-like cells sit on the left and NPC-like
and MES-like cells on the right.

The meta-modules are scored as the authors scored them (``scalop::sigScores``): the
``tirosh`` method (30 bins of mean expression, 100 control genes per module gene) on
``log2(TPM/10 + 1)`` of ``.layers["tpm"]``; data without a TPM layer is scored on ``X``
as it is. What was used is recorded in ``.uns["neurosig"]["neftel_states"]``.
"""

from __future__ import annotations

import inspect

import anndata as ad
import numpy as np
import pandas as pd

from .. import _keys
from .._matrix import RowSubset
from .._provenance import to_plain
from ..errors import InputDataError
from ..score.engine import score
from ..score.methods import METHODS

#: State -> meta-module signature ids of the library.
NEFTEL_STATES = {
    "MES": ("Neftel2019_MES1", "Neftel2019_MES2"),
    "AC": ("Neftel2019_AC",),
    "OPC": ("Neftel2019_OPC",),
    "NPC": ("Neftel2019_NPC1", "Neftel2019_NPC2"),
}

#: ``.obsm`` key of the meta-module scores that :func:`neftel_states` computes itself.
MODULES_KEY = _keys.NEFTEL_MODULES


def authors_scale(adata: ad.AnnData) -> tuple[str | None, str | None]:
    """``(layer, transform)`` to score Neftel modules on: the authors' scale where possible.

    ``("tpm", "log2_tpm10")``, i.e. ``log2(TPM/10+1)``, when ``.layers["tpm"]`` exists (TPM
    published or recovered from published log2(TPM/10+1) values); otherwise
    ``(None, None)``: ``X`` as it is (for a harmonised dataset ``log1p`` of counts per
    10,000; see ``.uns["neurosig"]["transform"]``).
    """
    if "tpm" in adata.layers:
        return "tpm", "log2_tpm10"
    return None, None


def score_modules(
    adata: ad.AnnData,
    *,
    method: str = "tirosh",
    seed: int | None = 0,
    key_added: str = MODULES_KEY,
    progress: bool = False,
    cells: np.ndarray | None = None,
) -> pd.DataFrame:
    """Score the six state meta-modules with ``method`` on :func:`authors_scale`'s matrix.

    ``cells`` (a boolean mask) scores only those cells, as Neftel et al. scored malignant
    cells alone: genes are centred and binned over them, and the other cells get NaN.
    Stored in ``.obsm[key_added]`` and ``.uns["neurosig"]["scores"][key_added]``.
    """
    layer, transform = authors_scale(adata)
    ids = [m for ms in NEFTEL_STATES.values() for m in ms]
    kwargs = dict(method=method, layer=layer, transform=transform, seed=seed, progress=progress)
    if cells is None or cells.all():
        return score(adata, ids, key_added=key_added, **kwargs)
    part = score(RowSubset(adata, cells), ids, key_added=key_added, **kwargs)  # no copy of the cells
    frame = part.reindex(adata.obs_names)
    adata.obsm[key_added] = frame
    record = dict(part.attrs[_keys.UNS])
    record["cells"] = f"{int(cells.sum())} malignant cells of {adata.n_obs} (others NaN)"
    _keys.store(adata).setdefault(_keys.SCORES, {})[key_added] = record
    frame.attrs[_keys.UNS] = record
    return frame


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
    adata: ad.AnnData,
    key: str | None = None,
    *,
    method: str = "tirosh",
    seed: int | None = 0,
    malignant_only: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """Assign Neftel states and map coordinates from the six meta-module scores.

    With ``key=None`` (default) the modules are scored first, as the authors scored them
    (:func:`score_modules`: ``method="tirosh"``, seeded by ``seed``, on ``log2(TPM/10+1)``
    of ``.layers["tpm"]`` or else on ``X`` as it is), into ``.obsm["neftel_modules"]``;
    ``method`` chooses another scheme of :func:`neurosig.tl.score`. With ``key``, the
    scores already in ``.obsm[key]`` are used (``method`` and ``seed`` are then ignored).

    Writes ``.obs["neftel_state"]`` (MES/AC/OPC/NPC; ``NA`` for non-malignant cells when
    ``malignant_only``), ``.obsm["neftel_state_map"]`` (x, y) and
    ``.uns["neurosig"]["neftel_states"]``: the scores' key, method, scale, layer,
    transform, seed and the method's control-gene parameters (for ``tirosh``: ``n_bins``,
    ``controls_per_gene``, ``bin_on``). Returns the state scores with the state and
    coordinates.

    Parameters
    ----------
    adata
        Annotated cells (``obs['malignant']`` when ``malignant_only``).
    key
        ``.obsm`` key of module scores already computed, or ``None`` to score them.
    method
        Scoring method of :func:`neurosig.tl.score` when ``key`` is ``None``.
    seed
        Seed of control-gene sampling when scoring.
    malignant_only
        Score and assign states over malignant cells alone.
    progress
        Show progress bars.
    """
    mal = None
    if malignant_only and "malignant" in adata.obs:
        mal = adata.obs["malignant"].fillna(False).astype(bool).to_numpy()
    if key is None:
        key = MODULES_KEY
        # the authors scored malignant cells alone (centring and bins over them)
        cells = mal if mal is not None and mal.sum() >= 2 else None
        score_modules(adata, method=method, seed=seed, key_added=key, progress=progress, cells=cells)
    if key not in adata.obsm:
        raise InputDataError(f"No scores in .obsm[{key!r}]; run neurosig.tl.score(...) first.")
    states = state_scores(pd.DataFrame(adata.obsm[key], index=adata.obs_names))
    coords = state_map(states)
    call = assign_states(states.fillna(-np.inf))  # unscored (non-malignant) cells become NA below
    call[states.isna().any(axis=1).to_numpy()] = "NA"
    if mal is not None:
        call[~mal] = "NA"
        coords.loc[~mal] = np.nan
    adata.obs["neftel_state"] = pd.Categorical(call, categories=["MES", "AC", "OPC", "NPC", "NA"])
    adata.obsm[_keys.NEFTEL_STATE_MAP] = coords
    _keys.store(adata)[_keys.NEFTEL_STATES] = _record(adata, key, malignant_only)
    return states.assign(state=call, x=coords["x"], y=coords["y"])


def _record(adata: ad.AnnData, key: str, malignant_only: bool) -> dict:
    """How the module scores in ``.obsm[key]`` were computed, from the engine's record."""
    meta = _keys.record(adata)
    rec = dict(meta.get("scores", {}).get(key, {}))
    method = str(rec.get("method", "unknown"))
    layer, transform = str(rec.get("layer", "")), str(rec.get("transform", ""))
    if not rec:
        scale = "unknown (scores not computed by neurosig.tl.score)"
    elif transform:
        scale = transform  # of .layers[layer]; log2_tpm10 is the authors' log2(TPM/10+1)
    else:
        x = f" ({meta['transform']})" if layer == "X" and meta.get("transform") else ""
        scale = f"{layer} as is{x}" + ("; no TPM layer" if "tpm" not in adata.layers else "")
    params: dict = {}
    if method in METHODS and METHODS[method].kind == "linear":
        sig = inspect.signature(METHODS[method].func).parameters
        params = {
            n: p.default
            for n, p in sig.items()
            if p.kind is p.KEYWORD_ONLY and n not in ("random_state", "exclude_from_controls")
        }
    params.update(dict(rec.get("params", {})))
    names = {"ctrl_per_gene": "controls_per_gene"}
    out = {
        "scores_key": key,
        "method": method,
        "scale": scale,
        "layer": layer,
        "transform": transform,
        "seed": rec.get("random_state", -1),
        **{names.get(k, k): v for k, v in params.items()},
        "malignant_only": bool(malignant_only),
        "cells": str(rec.get("cells", "all cells")),
    }
    return to_plain(out)
