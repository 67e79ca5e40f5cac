"""UCell (Andreatta & Carmona 2021), as pyUCell computes it, for all sets at once.

Within each cell, non-zero genes are ranked by decreasing expression (ties get their
average rank); zeros and ranks above ``max_rank`` (1500) count as ``max_rank``. For a set
of ``n`` genes with rank sum ``R``, ``UCell = 1 - (R - n(n+1)/2) / (n * max_rank - n(n+1)/2)``
(a normalised Mann-Whitney U). Signed sets score ``UCell(up) - w_neg * UCell(down)``,
clipped at 0, as pyUCell does. A chunk's rank sums for every set are one product of the
capped rank matrix with the genes x sets membership.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import rankdata

from ._meta import MethodMeta, membership

MAX_RANK = 1500


def capped_ranks(dense: np.ndarray, max_rank: int = MAX_RANK) -> np.ndarray:
    """Per-cell ranks (average ties, descending), zeros and ranks beyond max_rank set to max_rank."""
    ranks = rankdata(-dense, axis=1, method="average")
    ranks[(dense == 0) | (ranks > max_rank)] = max_rank
    return ranks


def _u(rank_sum: np.ndarray, n: np.ndarray, max_rank: int) -> np.ndarray:
    s_min = n * (n + 1) / 2.0
    s_max = n * max_rank
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, 1.0 - (rank_sum - s_min) / (s_max - s_min), 0.0)


def score_chunk(
    dense: np.ndarray, up: sp.csc_matrix, down: sp.csc_matrix, max_rank: int = MAX_RANK, w_neg: float = 1.0
) -> np.ndarray:
    """UCell scores (cells x sets) of a dense chunk; ``up``/``down`` are genes x sets memberships."""
    ranks = capped_ranks(dense, max_rank)
    n_up = np.asarray(up.sum(0)).ravel()
    n_down = np.asarray(down.sum(0)).ravel()
    score = _u(np.asarray(ranks @ up), n_up, max_rank)
    if n_down.any():
        score = score - w_neg * _u(np.asarray(ranks @ down), n_down, max_rank)
    return np.clip(score, 0.0, None)


def prepare(sig_weights: list[dict[str, float]], var_names: pd.Index, detected, **params):
    """The chunk scorer for these sets (``max_rank``, ``w_neg`` from params) and its details."""
    max_rank = int(params.get("max_rank", MAX_RANK))
    w_neg = float(params.get("w_neg", 1.0))
    up = membership(sig_weights, var_names, sign=1)
    down = membership(sig_weights, var_names, sign=-1)
    return (lambda dense: score_chunk(dense, up, down, max_rank, w_neg)), {"max_rank": max_rank}


META = MethodMeta(
    name="ucell",
    kind="rank",
    func=score_chunk,
    desc="normalised Mann-Whitney U of the set's ranks among each cell's top 1500 genes, as pyUCell",
    reference="Andreatta & Carmona 2021 Comput Struct Biotechnol J 19:3796; pyUCell",
    needs="any expression scale",
    prepare=prepare,
)
