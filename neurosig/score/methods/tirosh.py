"""The Tirosh 2016 / Neftel 2019 module score, as a weight matrix plus offset.

As the papers define it and the authors' code (``scalop::sigScores``, used for Neftel
2019) computes it: ``E = log2(TPM/10 + 1)``; relative expression
``Er = E - mean over cells of E`` (per gene); genes sorted by their mean ``E`` and cut into
30 equal-sized bins (``bin_on="log_mean"``, scalop's ``bin``; the papers' text bins on
``Ea = log2(mean TPM + 1)``, available as ``bin_on="aggregate"``); for every gene of the
module, 100 genes drawn without replacement from its bin; the score is
``mean Er(module) - mean Er(controls)`` (controls counted with multiplicity). It is
linear in ``E``: weights ``1/|G|`` on module genes and ``count/(100|G|)`` subtracted on
controls, with offset ``w . mean(E)`` for the centring.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ._meta import MethodMeta
from .score_genes import check_unit_weights

N_BINS = 30
N_CONTROL = 100


def weights(
    sig_weights: list[dict[str, float]],
    var_names: pd.Index,
    stats: dict[str, np.ndarray],
    *,
    n_bins: int = N_BINS,
    ctrl_per_gene: int = N_CONTROL,
    bin_on: str = "log_mean",
    random_state: int | None = 0,
    exclude_from_controls: Iterable[str] = (),
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Weight matrix (genes x signatures), offsets, and per-signature details.

    ``stats`` needs ``mean`` (mean of E per gene) and, for ``bin_on="aggregate"``,
    ``linear_mean`` (mean TPM per gene). Genes in ``exclude_from_controls`` are never
    drawn as controls. Weights other than +1/-1 are refused.
    """
    check_unit_weights(sig_weights, "tirosh")
    rng = np.random.default_rng(random_state)
    if bin_on == "log_mean":
        ea = stats["mean"]
    elif bin_on == "aggregate":
        ea = np.log2(stats["linear_mean"] + 1)
    else:
        raise ValueError(f"bin_on must be 'log_mean' or 'aggregate', not {bin_on!r}")
    bins = pd.qcut(pd.Series(ea).rank(method="first"), n_bins, labels=False).to_numpy()
    pos = pd.Series(np.arange(len(var_names)), index=var_names)
    drop = np.zeros(len(var_names), dtype=bool)
    drop[pos.reindex(list(exclude_from_controls)).dropna().to_numpy(dtype=int)] = True
    members = [np.flatnonzero((bins == b) & ~drop) for b in range(n_bins)]
    w = np.zeros((len(var_names), len(sig_weights)))
    for j, sw in enumerate(sig_weights):
        for sign in (1.0, -1.0):
            genes = [g for g, v in sw.items() if np.sign(v) == sign]
            if not genes:
                continue
            idx = pos[genes].to_numpy()
            w[idx, j] += sign / len(idx)
            for gi in idx:
                pool = members[bins[gi]]
                ctrl = rng.choice(pool, size=ctrl_per_gene, replace=len(pool) < ctrl_per_gene)
                np.add.at(w[:, j], ctrl, -sign / (len(idx) * ctrl_per_gene))
    offset = stats["mean"] @ w
    return (
        w,
        offset,
        [{"n_bins": n_bins, "controls_per_gene": ctrl_per_gene, "bin_on": bin_on}] * len(sig_weights),
    )


def _needs_linear(params: dict) -> bool:
    """Binning on aggregate expression needs the linear (TPM) means."""
    return params.get("bin_on") == "aggregate"


META = MethodMeta(
    name="tirosh",
    kind="linear",
    func=weights,
    desc="Tirosh 2016 / Neftel 2019 module score: relative expression (centred per gene), "
    "minus 100 expression-matched controls per gene from 30 bins of aggregate expression",
    reference="Tirosh 2016 Science 352:189; Neftel 2019 Cell 178:835",
    needs="log2(TPM/10+1) and linear TPM",
    seeded=True,
    needs_linear=_needs_linear,
)
