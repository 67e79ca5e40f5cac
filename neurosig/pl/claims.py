"""Forest plots of the evidence table: per dataset (or patient), and pooled."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputDataError


def forest(evidence: pd.DataFrame, claim: str, *, per_patient: pd.DataFrame | None = None, ax=None):
    """One claim's estimates with 95% intervals; the pooled row as a diamond.

    Parameters
    ----------
    evidence
        Output of :func:`neurosig.tl.test_claims` or :func:`neurosig.claims.pool_evidence`.
    claim
        Claim id.
    per_patient
        The per-patient correlations (``.attrs["per_patient"]``) to draw under each dataset
        for cell-level claims (intervals from Fisher z, variance 1.06 / (n - 3)).
    ax
        Axes to draw into (default: a new figure).
    """
    import matplotlib.pyplot as plt

    rows = evidence[evidence["claim"] == claim]
    if rows.empty:
        raise InputDataError(f"Claim {claim!r} is not in the evidence table.")
    if per_patient is not None:
        per_patient = per_patient[per_patient["claim"] == claim]
        per_patient = per_patient[np.isfinite(per_patient["rho"].astype(float))]
    if ax is None:
        _, ax = plt.subplots(
            figsize=(6, 1.2 + 0.35 * (len(rows) + (0 if per_patient is None else len(per_patient))))
        )
    labels, y = [], 0
    for _, r in rows.iloc[::-1].iterrows():
        is_pooled = str(r["dataset"]).startswith("pooled")
        if not is_pooled and per_patient is not None:
            # communication rows carry a within-patient p, not a rho: they were left out above
            pp = per_patient[per_patient["dataset"] == r["dataset"]]
            for _, p in pp.iloc[::-1].iterrows():
                half = 1.96 * np.sqrt(1.06 / max(p["n_cells"] - 3, 1))
                z = np.arctanh(np.clip(p["rho"], -0.999, 0.999))
                ax.plot([np.tanh(z - half), np.tanh(z + half)], [y, y], color="grey", lw=1)
                ax.plot(p["rho"], y, "s", color="grey", ms=3)
                labels.append(f"  {p['patient']} (n={p['n_cells']})")
                y += 1
        if r["verdict"] == "not testable" or not np.isfinite(r.get("effect", np.nan)):
            ax.text(
                0,
                y,
                "not testable" if r["verdict"] == "not testable" else "no estimate",
                fontsize=7,
                va="center",
            )
        elif is_pooled:
            lo, hi, e = r["ci_low"], r["ci_high"], r["effect"]
            if np.isfinite(lo) and np.isfinite(hi):
                ax.fill([lo, e, hi, e], [y, y + 0.3, y, y - 0.3], color="black")
            else:
                ax.plot(e, y, "D", color="black")
        else:
            if np.isfinite(r["ci_low"]):
                ax.plot([r["ci_low"], r["ci_high"]], [y, y], color="tab:blue", lw=2)
            ax.plot(r["effect"], y, "o", color="tab:blue")
        labels.append(f"{r['dataset']} [{r['verdict']}]")
        y += 1
    ax.axvline(0, color="black", lw=0.5, ls="--")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    first = rows.iloc[0]
    ax.set_xlabel(str(first.get("effect_type", "")), fontsize=8)
    ax.set_title(
        f"{claim}: {first['statement']}\nexpected {first['expected']}; proxy {first['proxy']}", fontsize=8
    )
    ax.figure.tight_layout()
    return ax
