"""Compiled kernels of the permutation test (numba, a dependency of decoupler)."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(parallel=True, cache=True)
def group_sums(indptr, indices, data, labels, n_groups, n_genes):  # pragma: no cover - compiled
    """Per-group column sums of a CSR matrix for several labelings of its rows.

    ``labels`` is (n_labelings, n_cells) of group codes (-1: cell left out). Returns a
    float64 array of shape (n_labelings, n_groups, n_genes). Each stored value is visited
    once per labeling; labelings run in parallel.
    """
    n_lab, n_cells = labels.shape
    sums = np.zeros((n_lab, n_groups, n_genes))
    for p in nb.prange(n_lab):
        for i in range(n_cells):
            g = labels[p, i]
            if g < 0:
                continue
            for q in range(indptr[i], indptr[i + 1]):
                sums[p, g, indices[q]] += data[q]
    return sums


@nb.njit(parallel=True, cache=True)
def count_null_ge(entity_means, src, lig, tgt, rec, observed, counts):  # pragma: no cover - compiled
    """Add, per interaction row, how many permutations reach the observed mean.

    ``entity_means`` is (n_perms, n_groups, n_entities); a row's null value in one
    permutation is the mean of its ligand's mean in the sender group and its receptor's
    mean in the receiver group, compared with ``>=`` as liana does.
    """
    n_perm = entity_means.shape[0]
    for r in nb.prange(src.shape[0]):
        s = src[r]
        t = tgt[r]
        a = lig[r]
        b = rec[r]
        o = observed[r]
        acc = 0
        for p in range(n_perm):
            if (entity_means[p, s, a] + entity_means[p, t, b]) / 2.0 >= o:
                acc += 1
        counts[r] += acc


def permuted_labels(codes: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` label shuffles, drawn exactly as liana draws them.

    liana permutes the row order (``rng.permutation``) and keeps the labels in place, so
    cell ``perm[j]`` takes label ``codes[j]``.
    """
    out = np.empty((n, codes.size), dtype=codes.dtype)
    for k in range(n):
        perm = rng.permutation(codes.size)
        out[k, perm] = codes
    return out
