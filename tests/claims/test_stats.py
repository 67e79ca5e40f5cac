"""Statistics of the claims engine against statsmodels' implementations."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects

from neurosig.claims import stats


def test_random_effects_equals_statsmodels_dl_and_hartung_knapp():
    y = np.array([0.1, 0.3, -0.05, 0.42, 0.2])
    v = np.array([0.01, 0.02, 0.015, 0.03, 0.01])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = combine_effects(y, v, method_re="chi2", use_t=True)  # chi2: DerSimonian-Laird
        frame = ref.summary_frame()
    ours = stats.random_effects(y, v)
    assert ours.estimate == pytest.approx(ref.mean_effect_re)
    assert ours.tau2 == pytest.approx(ref.tau2)
    assert ours.i2 == pytest.approx(ref.i2 * 100)
    # Hartung-Knapp-Sidik-Jonkman: statsmodels' "random effect wls" row
    assert ours.ci_low == pytest.approx(frame.loc["random effect wls", "ci_low"])
    assert ours.ci_high == pytest.approx(frame.loc["random effect wls", "ci_upp"])
    plain = stats.random_effects(y, v, hartung_knapp=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        normal = combine_effects(y, v, method_re="chi2", use_t=False).summary_frame()
    assert plain.ci_low == pytest.approx(normal.loc["random effect", "ci_low"])
    assert plain.ci_high - plain.ci_low < ours.ci_high - ours.ci_low  # DL alone is narrower here


def test_quasibinomial_equals_r_style_dispersion():
    rng = np.random.default_rng(0)
    totals = rng.integers(100, 400, 12).astype(float)
    x = rng.normal(size=12)
    p = 1 / (1 + np.exp(-(-3 + 0.3 * x + rng.normal(0, 0.4, 12))))
    succ = rng.binomial(totals.astype(int), p).astype(float)
    beta, lo, hi, pval = stats.quasibinomial(succ, totals, x)
    # reference: proportions with the trials as variance weights and a Pearson X2 scale
    design = sm.add_constant((x - x.mean()) / x.std())
    ref = sm.GLM(succ / totals, design, family=sm.families.Binomial(), var_weights=totals).fit(scale="X2")
    assert beta == pytest.approx(ref.params[1], rel=1e-6)
    se = (hi - lo) / (2 * __import__("scipy").stats.t.ppf(0.975, 10))
    assert se == pytest.approx(ref.bse[1], rel=1e-6)


def test_fisher_z_and_spearman_helpers():
    z, v = stats.fisher_z(np.array([0.5]), np.array([103]))
    assert z[0] == pytest.approx(np.arctanh(0.5)) and v[0] == pytest.approx(1.06 / 100)
    assert np.isnan(stats.spearman(np.ones(5), np.arange(5.0))[0])
    # the interval of a rho of exactly 0 (7 patients) is symmetric
    res = stats.spearman_test(np.arange(7.0), np.array([0, 3, 5, 6, 4, 2, 1.0]))
    assert res.rho == pytest.approx(0.0, abs=1e-12)
    lo, hi = res.ci_low, res.ci_high
    assert lo == pytest.approx(-hi)


def test_partial_spearman_equals_the_first_order_partial_correlation_of_ranks():
    """Reference: r_xy.z = (r_xy - r_xz r_yz) / sqrt((1 - r_xz^2)(1 - r_yz^2)) on ranks."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=300)
    x = z + rng.normal(size=300)
    y = 0.5 * z + 0.3 * x + rng.normal(size=300)
    r = lambda a, b: sps.spearmanr(a, b).statistic  # noqa: E731
    ref = (r(x, y) - r(x, z) * r(y, z)) / np.sqrt((1 - r(x, z) ** 2) * (1 - r(y, z) ** 2))
    assert stats.partial_spearman(x, y, z[:, None]) == pytest.approx(ref, rel=1e-10)
    assert stats.partial_spearman(x, y, None) == pytest.approx(r(x, y))


def test_ols_slope_with_a_covariate_recovers_the_partial_effect():
    rng = np.random.default_rng(1)
    n = 4000
    cov = rng.normal(size=n)
    x = rng.normal(size=n) + cov
    y = 0.5 * x + 2 * cov + rng.normal(size=n)
    slope, var = stats.ols_slope(y, x, cov)
    naive, _ = stats.ols_slope(y, x)
    # on standardised scales the partial slope is 0.5 * sd(x) / sd(y)
    assert slope == pytest.approx(0.5 * x.std() / y.std(), abs=0.02)
    assert naive > slope + 0.3 and var > 0
