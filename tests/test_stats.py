"""Shared statistics (``neurosig/_stats.py``) against the implementation they replaced."""

from __future__ import annotations

import numpy as np

from neurosig._stats import bh_qvalues


def _bh_before_scipy(p: np.ndarray) -> np.ndarray:
    """neurosig's own Benjamini-Hochberg before it called scipy (kept as the reference)."""
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size == 0:
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q


def test_bh_qvalues_equal_the_previous_implementation_with_nans_and_ties():
    rng = np.random.default_rng(0)
    for trial in range(200):
        p = rng.random(int(rng.integers(1, 400)))
        if trial % 2:  # permutation p-values: many ties, some at 1
            p = (np.floor(p * 100) + 1) / 101
        p[rng.random(p.size) < 0.2] = np.nan
        q, ref = bh_qvalues(p), _bh_before_scipy(p)
        np.testing.assert_array_equal(np.isnan(q), np.isnan(p))
        # scipy multiplies by m / i where the old code divided p * m by i: equal to rounding
        np.testing.assert_allclose(q[~np.isnan(p)], ref[~np.isnan(p)], rtol=1e-14, atol=0)


def test_bh_qvalues_all_nan_and_empty():
    assert np.isnan(bh_qvalues(np.array([np.nan, np.nan]))).all()
    assert bh_qvalues(np.array([])).shape == (0,)
