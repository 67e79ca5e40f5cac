"""The NB sampler draws the distribution scipy defines, in both of its branches."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from neurosig.sim._nb import sample_nb


@pytest.mark.parametrize(("mu", "phi"), [(0.05, 0.5), (0.4, 5.0), (1.5, 0.1), (3.0, 2.0), (60.0, 8.0)])
def test_matches_scipy_nbinom(mu, phi):
    rng = np.random.default_rng(42)
    x = sample_nb(np.full((40_000, 2), mu, dtype=np.float32), np.array([phi, phi]), rng).toarray().ravel()
    r = 1 / phi
    ref = stats.nbinom(r, r / (r + mu))
    assert abs(x.mean() - mu) < 4 * np.sqrt(ref.var() / x.size)
    assert abs((x == 0).mean() - ref.pmf(0)) < 0.01
    if mu < 5:  # the full pmf over the first counts
        for k in range(1, 4):
            assert abs((x == k).mean() - ref.pmf(k)) < 0.01
    assert x.var() == pytest.approx(ref.var(), rel=0.15)


def test_per_cell_dispersion_and_determinism():
    mu = np.full((5000, 3), 0.8, dtype=np.float32)
    phi = np.tile(np.array([0.01, 1.0, 10.0], dtype=np.float32), (5000, 1))
    a = sample_nb(mu, phi, np.random.default_rng(1)).toarray()
    b = sample_nb(mu, phi, np.random.default_rng(1)).toarray()
    np.testing.assert_array_equal(a, b)
    zeros = (a == 0).mean(0)
    assert zeros[0] < zeros[1] < zeros[2]  # more dispersion, more zeros at the same mean
