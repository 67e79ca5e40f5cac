"""AUCell (Aibar 2017), computed as decoupler's ``mt.aucell`` does, for all sets at once.

As decoupler does, genes never detected in any cell are left out, the remaining genes
are put in a random order (``default_rng(0).choice``, to break ties the same way), and
genes are ranked within each cell (``rankdata(-x, method="ordinal")``). With ``n_up`` =
ceil(5% of those genes) by default, the AUC of a set is
``sum over set genes with rank <= n_up of (n_up - rank) / max_auc`` (this equals
decoupler's recovery-curve sum), with ``max_auc = sum_{m=1}^{min(k, n_up-1)} (n_up - m)``
for a set of ``k`` genes. So a chunk's scores are one sparse product: the cells x genes
matrix of ``n_up - rank`` on each cell's top genes, times the genes x sets membership.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._meta import MethodMeta, membership


def default_n_up(n_vars: int) -> int:
    """decoupler's default: ceil(5% of genes), at least 2."""
    return int(np.clip(np.ceil(0.05 * n_vars), 2, n_vars))


def max_auc(set_sizes: np.ndarray, n_up: int) -> np.ndarray:
    """Largest possible AUC of sets of the given sizes."""
    k = np.minimum(set_sizes, n_up - 1)
    return k * n_up - k * (k + 1) / 2


def tie_order(detected: np.ndarray, seed: int = 0) -> np.ndarray:
    """Gene indices in decoupler's tie-breaking order (detected genes, shuffled with seed 0)."""
    kept = np.flatnonzero(detected)
    perm = np.random.default_rng(seed=seed).choice(np.arange(kept.size), kept.size, replace=False)
    return kept[perm]


def score_chunk(
    dense: np.ndarray, membership: sp.csc_matrix, n_up: int, genes_order: np.ndarray
) -> np.ndarray:
    """AUCell scores (cells x sets) of a dense chunk of cells.

    ``genes_order``: the detected genes in tie-breaking order (:func:`tie_order`).
    """
    n, g = dense.shape
    order = genes_order[np.argsort(-dense[:, genes_order], axis=1, kind="stable")[:, :n_up]]
    rows = np.repeat(np.arange(n), n_up)
    vals = np.tile(n_up - np.arange(1, n_up + 1, dtype=np.float64), n)
    top = sp.csr_matrix((vals, (rows, order.ravel())), shape=(n, g))
    sizes = np.asarray(membership.sum(0)).ravel()
    return np.asarray((top @ membership).todense()) / max_auc(sizes, n_up)


def prepare(sig_weights: list[dict[str, float]], var_names: pd.Index, detected, **params):
    """The chunk scorer for these sets (``n_up`` from params) and its details.

    Sets lose the genes never detected; ``detected()`` runs the pass that finds them.
    """
    sets = membership(sig_weights, var_names, sign=0)
    found = detected()
    genes_order = tie_order(found)
    sets = sp.csc_matrix(sp.diags(found.astype(float)) @ sets)
    n_up = params.get("n_up") or default_n_up(int(found.sum()))
    return (lambda dense: score_chunk(dense, sets, n_up, genes_order)), {"n_up": n_up}


META = MethodMeta(
    name="aucell",
    kind="rank",
    func=score_chunk,
    desc="area under the recovery curve of the set among each cell's top-ranked genes, as "
    "decoupler's mt.aucell",
    reference="Aibar 2017 Nat Methods 14:1083; decoupler mt.aucell",
    needs="any expression scale",
    prepare=prepare,
)
