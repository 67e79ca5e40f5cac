"""Kaplan-Meier curves of overall survival, tumours split at the cohort's median score."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ..errors import InputDataError


def km_curves(time: np.ndarray, event: np.ndarray, high: np.ndarray) -> dict[str, pd.DataFrame]:
    """Kaplan-Meier estimates (statsmodels ``SurvfuncRight``) of the high and low groups.

    Returns, per group, a frame of the event times and the survival just after each.
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    out = {}
    for name, mask in (("high", high), ("low", ~high)):
        sf = SurvfuncRight(time[mask], event[mask])
        out[name] = pd.DataFrame({"time": sf.surv_times, "survival": sf.surv_prob})
    return out


def kaplan_meier(
    adata: ad.AnnData,
    score: str | pd.Series,
    *,
    time_key: str = "os_months",
    event_key: str = "os_event",
    ax=None,
):
    """Overall survival of tumours above vs at-or-below the median of a score.

    Parameters
    ----------
    adata
        Bulk AnnData, one row per sample, with survival in ``.obs`` (months, 1 = death).
    score
        A numeric ``.obs`` column, or per-sample values indexed by ``obs_names`` (e.g. a
        column of ``.obsm["neurosig_ssgsea"]``).
    time_key, event_key
        ``.obs`` columns of the survival time and the event.
    ax
        Axes to draw into (default: a new figure).

    Returns
    -------
    The axes; the title gives the tumours, deaths and the log-rank p (statsmodels ``survdiff``).
    """
    import matplotlib.pyplot as plt
    from statsmodels.duration.survfunc import survdiff

    for col in (time_key, event_key):
        if col not in adata.obs:
            raise InputDataError(f".obs[{col!r}] is missing: this cohort has no survival to plot.")
    values = adata.obs[score] if isinstance(score, str) else pd.Series(score).reindex(adata.obs_names)
    frame = pd.DataFrame(
        {
            "t": pd.to_numeric(adata.obs[time_key], errors="coerce"),
            "e": pd.to_numeric(adata.obs[event_key], errors="coerce"),
            "x": pd.to_numeric(values, errors="coerce").to_numpy(),
        },
        index=adata.obs_names,
    ).dropna()
    if len(frame) < 4 or frame["e"].sum() == 0:
        raise InputDataError(
            f"{len(frame)} tumours with survival and a score, {int(frame['e'].sum())} deaths: too few."
        )
    t, e = frame["t"].to_numpy(float), frame["e"].to_numpy(float)
    high = (frame["x"] > frame["x"].median()).to_numpy()
    curves = km_curves(t, e, high)
    _, p = survdiff(t, e, high.astype(int))
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.5))
    for name, color in (("high", "tab:red"), ("low", "tab:blue")):
        c = curves[name]
        ax.step(
            np.r_[0, c["time"]],
            np.r_[1, c["survival"]],
            where="post",
            color=color,
            label=f"{name} (n={int((high if name == 'high' else ~high).sum())})",
        )
    label = score if isinstance(score, str) else getattr(score, "name", "score")
    ax.set_xlabel(f"{time_key}")
    ax.set_ylabel("overall survival")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, title=f"{label} vs median", title_fontsize=7)
    title = f"{len(frame)} tumours, {int(e.sum())} deaths; log-rank p = {p:.2g} (unadjusted)"
    ax.set_title(title, fontsize=8)
    ax.figure.tight_layout()
    return ax
