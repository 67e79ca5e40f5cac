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
def count_null_hits(
    entity_means, src, lig, tgt, rec, observed, counts, zero_if_absent, strict
):  # pragma: no cover - compiled
    """Add, per interaction row, how many permutations reach the observed mean.

    ``entity_means`` is (n_perms, n_groups, n_entities); a row's null value in one
    permutation is the mean of its ligand's mean in the sender group and its receptor's
    mean in the receiver group. With ``zero_if_absent`` (CellPhoneDB) the null value is 0
    when either mean is 0, i.e. ``(x > 0) * (y > 0) * (x + y) / 2``; without it (liana)
    it is ``(x + y) / 2``. ``strict`` counts null values ``>`` the observed one
    (CellPhoneDB), otherwise ``>=`` (liana). Observed values are > 0, so a null value of
    0 is never counted.
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
            x = entity_means[p, s, a]
            y = entity_means[p, t, b]
            if zero_if_absent and (x == 0.0 or y == 0.0):
                continue
            v = (x + y) / 2.0
            if v > o or (not strict and v == o):
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
