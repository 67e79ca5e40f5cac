"""scanpy's ``score_genes`` as a weight matrix: identical numbers, all signatures in one pass.

For each signature, exactly as ``scanpy.tl.score_genes`` (scanpy 1.10-1.11): genes are
binned by their mean over all cells (``rank(method="min") // round(n / (n_bins - 1))``),
the global NumPy RNG is seeded with ``random_state``, and for every bin that holds a
signature gene, ``ctrl_size`` genes are drawn from the bin with ``Series.sample`` (the
same calls, so the same draws); control genes are the union minus the signature. The
score ``mean(set) - mean(controls)`` is linear in the cell's expression, so it becomes
a column of weights: ``+1/|set|`` on set genes and ``-1/|controls|`` on control genes.

Signed signatures (e.g. GRIA1/3/4 up, GRIA2 down) score ``score(up) - score(down)``.
Weights other than +1/-1 are refused (the method has none); ``exclude_from_controls``
removes genes from every bin's control pool (the claims engine passes the other side's
genes of a claim, so that x's controls never hold y's genes); without it the draws are
scanpy's.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ...errors import InputDataError
from ._meta import MethodMeta


def check_unit_weights(sig_weights: list[dict[str, float]], method: str) -> None:
    """Refuse weights other than +1/-1: the method scores sets, a weight would be lost."""
    for sw in sig_weights:
        bad = {g: w for g, w in sw.items() if abs(w) != 1.0}
        if bad:
            shown = ", ".join(f"{g}={w:g}" for g, w in list(bad.items())[:5])
            raise InputDataError(
                f"method={method!r} scores gene sets (weights +1 or -1) but a signature has other "
                f"weights ({shown}); use method='ulm' for a weighted signature, or give the genes "
                "weight 1."
            )


def expression_cuts(obs_avg: pd.Series, n_bins: int) -> pd.Series:
    """scanpy's expression bins: ``rank(method="min") // round(n / (n_bins - 1))``."""
    obs_avg = obs_avg[np.isfinite(obs_avg)]
    n_items = int(np.round(len(obs_avg) / (n_bins - 1)))
    return obs_avg.rank(method="min") // n_items


def control_genes(
    gene_list: pd.Index, obs_cut: pd.Series, members: dict, *, ctrl_size: int, random_state: int | None
) -> pd.Index:
    """scanpy's control-gene selection for one gene list (restores the global RNG after).

    ``members`` maps each cut to its genes (in ``obs_cut`` order), computed once for all
    signatures; the draws are the same ``Series.sample`` calls as scanpy's.
    """
    state = np.random.get_state()  # noqa: NPY002 - scanpy draws from the global legacy RNG
    try:
        if random_state is not None:
            np.random.seed(random_state)  # noqa: NPY002 - same draws as scanpy
        control = pd.Index([], dtype="string")
        for cut in np.unique(obs_cut.loc[gene_list]):
            r_genes = members[cut]
            if ctrl_size < len(r_genes):
                r_genes = r_genes.to_series().sample(ctrl_size).index
            control = control.union(r_genes.difference(gene_list))
        return control
    finally:
        np.random.set_state(state)  # noqa: NPY002


def weights(
    sig_weights: list[dict[str, float]],
    var_names: pd.Index,
    stats: dict[str, np.ndarray],
    *,
    ctrl_size: int = 50,
    n_bins: int = 25,
    random_state: int | None = 0,
    exclude_from_controls: Iterable[str] = (),
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Weight matrix (genes x signatures), zero offsets, and per-signature details."""
    check_unit_weights(sig_weights, "score_genes")
    obs_avg = pd.Series(stats["mean"], index=pd.Index(var_names, dtype="string"))
    obs_cut = expression_cuts(obs_avg, n_bins)
    cuts = obs_cut.to_numpy()
    members = {cut: obs_cut.index[cuts == cut] for cut in np.unique(cuts)}
    excluded = pd.Index(sorted(set(exclude_from_controls) & set(var_names)), dtype="string")
    if len(excluded):
        members = {cut: genes.difference(excluded, sort=False) for cut, genes in members.items()}
    w = np.zeros((len(var_names), len(sig_weights)))
    pos = pd.Series(np.arange(len(var_names)), index=var_names)
    details = []
    for j, sw in enumerate(sig_weights):
        n_ctrl, drawn = {}, set()
        for sign in (1.0, -1.0):
            genes = pd.Index([g for g, v in sw.items() if np.sign(v) == sign], dtype="string")
            if len(genes) == 0:
                continue
            ctrl = control_genes(genes, obs_cut, members, ctrl_size=ctrl_size, random_state=random_state)
            if len(ctrl) == 0:
                raise ValueError(
                    "No control genes found in any expression bin; the dataset has too few genes."
                )
            w[pos[genes].to_numpy(), j] += sign / len(genes)
            w[pos[ctrl].to_numpy(), j] -= sign / len(ctrl)
            n_ctrl["up" if sign > 0 else "down"] = len(ctrl)
            drawn |= {str(g) for g in ctrl}
        if len(excluded):
            details.append(
                {
                    "n_control_genes": n_ctrl,
                    "excluded_from_controls": [str(g) for g in excluded],
                    "control_genes": sorted(drawn),
                }
            )
        else:
            details.append({"n_control_genes": n_ctrl})
    return w, np.zeros(len(sig_weights)), details


META = MethodMeta(
    name="score_genes",
    kind="linear",
    func=weights,
    desc="mean of the set minus the mean of expression-matched control genes, exactly as "
    "scanpy.tl.score_genes (same bins, same control sampling for the same seed)",
    reference="Satija 2015 / Tirosh 2016; scanpy.tl.score_genes",
    needs="log-normalised",
    seeded=True,
)
