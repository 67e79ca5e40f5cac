"""Statistics of the claims engine: per-patient associations and their pooling.

Every function returns plain numbers; none knows about claims or AnnData.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy import stats

#: Up to this many patients the null of Spearman's rho is enumerated exactly (n! orderings).
EXACT_MAX_N = 10
#: Above it, this many seeded random orderings (Monte Carlo) give the null.
MC_RESAMPLES = 20_000


@dataclass
class Pooled:
    """A random-effects pooled estimate (Fisher z scale unless said otherwise)."""

    estimate: float
    ci_low: float
    ci_high: float
    pvalue: float
    tau2: float
    i2: float
    k: int

    def fields(self, *, rho: bool = True, suffix: str = "") -> dict[str, float]:
        """The evidence row's ``effect``, ``ci_low``, ``ci_high``, ``pvalue`` (each + ``suffix``).

        ``rho``: the pool is on the Fisher z scale and is read back as rho (tanh);
        otherwise the scale is the effect's own (log-odds, log hazard ratio).
        """
        f = np.tanh if rho else float
        return {
            f"effect{suffix}": float(f(self.estimate)),
            f"ci_low{suffix}": float(f(self.ci_low)),
            f"ci_high{suffix}": float(f(self.ci_high)),
            f"pvalue{suffix}": self.pvalue,
        }


def spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Spearman rho and its two-sided p; NaN when either side is constant."""
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan, np.nan
    r = stats.spearmanr(x, y)
    return float(r.statistic), float(r.pvalue)


def fisher_z(rho: np.ndarray, n: np.ndarray, spearman_var: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Fisher z of correlations and their variances.

    For Spearman's rho the variance is 1.06 / (n - 3) (Fieller, Hartley & Pearson 1957);
    for Pearson's r, 1 / (n - 3).
    """
    rho = np.clip(np.asarray(rho, float), -0.999999, 0.999999)
    n = np.asarray(n, float)
    return np.arctanh(rho), (1.06 if spearman_var else 1.0) / (n - 3)


def random_effects(y: np.ndarray, v: np.ndarray, *, hartung_knapp: bool = True) -> Pooled:
    """DerSimonian-Laird random-effects meta-analysis, with the Hartung-Knapp interval.

    Parameters
    ----------
    y, v
        Per-study estimates and their within-study variances.
    hartung_knapp
        Use the Hartung-Knapp(-Sidik-Jonkman) variance and a t distribution with k - 1
        degrees of freedom (IntHout et al. 2014, BMC Med Res Methodol 14:25); plain
        DerSimonian-Laird intervals are anti-conservative with few studies.

    Returns
    -------
    Pooled estimate, 95% interval, p, tau^2 and I^2 (in %).

    Notes
    -----
    Equal to statsmodels' ``combine_effects(y, v, method_re="chi2", use_t=True)`` (tested)
    but not delegated to it: statsmodels leaves the DerSimonian-Laird tau^2 negative when
    Q < k - 1 (instead of truncating it at 0, which changes every weight), divides by zero
    with one study, and gives p = 0 when the estimates are identical (here the
    DerSimonian-Laird standard error is used then).
    """
    y, v = np.asarray(y, float), np.asarray(v, float)
    ok = np.isfinite(y) & np.isfinite(v) & (v > 0)
    y, v = y[ok], v[ok]
    k = y.size
    if k == 0:
        return Pooled(np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, 0)
    w = 1 / v
    mu_fe = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - mu_fe) ** 2))
    c = np.sum(w) - np.sum(w**2) / np.sum(w)
    tau2 = max(0.0, (q - (k - 1)) / c) if k > 1 else 0.0
    i2 = max(0.0, (q - (k - 1)) / q) * 100 if q > 0 and k > 1 else 0.0
    ws = 1 / (v + tau2)
    mu = float(np.sum(ws * y) / np.sum(ws))
    if hartung_knapp and k > 1:
        var_hk = float(np.sum(ws * (y - mu) ** 2) / ((k - 1) * np.sum(ws)))
        se = np.sqrt(var_hk)
        if not se > 0:
            # identical estimates: the Hartung-Knapp variance is 0 and p would be 0; fall
            # back to the DerSimonian-Laird standard error. (The "modified" HK that floors
            # every HK SE at the DL one was tried: on 1,000 null datasets A1 rejected 1.0%
            # instead of 4.9%, so plain HK is kept; benchmarks/bench_calibration.py.)
            se = float(np.sqrt(1 / np.sum(ws)))
        crit = stats.t.ppf(0.975, k - 1)
        p = 2 * stats.t.sf(abs(mu) / se, k - 1)
    else:
        se = float(np.sqrt(1 / np.sum(ws)))
        crit = stats.norm.ppf(0.975)
        p = 2 * stats.norm.sf(abs(mu) / se)
    return Pooled(mu, mu - crit * se, mu + crit * se, float(p), tau2, i2, k)


def ols_slope(y: np.ndarray, x: np.ndarray, covariates: np.ndarray | None = None) -> tuple[float, float]:
    """Slope of standardised ``x`` on standardised ``y`` with covariates, and its variance."""
    cols = [np.ones_like(x), _std(x)]
    if covariates is not None:
        cols += [_std(c) for c in np.atleast_2d(covariates.T) if np.ptp(c) > 0]
    design = np.column_stack(cols)
    yy = _std(y)
    beta, *_ = np.linalg.lstsq(design, yy, rcond=None)
    resid = yy - design @ beta
    dof = len(yy) - design.shape[1]
    if dof <= 0:
        return np.nan, np.nan
    sigma2 = resid @ resid / dof
    try:
        cov = sigma2 * np.linalg.inv(design.T @ design)
    except np.linalg.LinAlgError:
        return np.nan, np.nan
    return float(beta[1]), float(cov[1, 1])


def _std(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, float)
    sd = a.std()
    return (a - a.mean()) / sd if sd > 0 else a - a.mean()


def mixed_model(y: np.ndarray, x: np.ndarray, groups: np.ndarray, covariates: np.ndarray | None = None):
    """Linear mixed model ``y ~ x (+ covariates) + (1 | patient)`` on standardised values.

    Returns the slope of ``x``, its 95% interval and p (statsmodels MixedLM, REML), or NaNs
    when the fit fails.
    """
    import pandas as pd
    import statsmodels.formula.api as smf

    frame = pd.DataFrame({"y": _std(y), "x": _std(x), "g": groups})
    formula = "y ~ x"
    if covariates is not None:
        for i, c in enumerate(np.atleast_2d(covariates.T)):
            if np.ptp(c) == 0:
                continue  # a level absent from these cells (a dummy of another cell type)
            frame[f"c{i}"] = _std(c)
            formula += f" + c{i}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = smf.mixedlm(formula, frame, groups=frame["g"]).fit(reml=True)
        lo, hi = fit.conf_int().loc["x"]
        return float(fit.params["x"]), float(lo), float(hi), float(fit.pvalues["x"])
    except Exception:  # noqa: BLE001 - a singular fit is reported as missing, not raised
        return np.nan, np.nan, np.nan, np.nan


def quasibinomial(successes: np.ndarray, totals: np.ndarray, x: np.ndarray):
    """Quasi-binomial GLM of ``successes / totals`` on standardised ``x``.

    Returns the log-odds slope per SD of ``x``, its 95% interval and p; the dispersion is
    Pearson's chi^2 / residual df (so over-dispersion between patients widens the
    interval), with a t reference distribution.
    """
    import statsmodels.api as sm

    design = sm.add_constant(_std(x))
    endog = np.column_stack([successes, totals - successes])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(endog, design, family=sm.families.Binomial()).fit()
    dof = max(int(fit.df_resid), 1)
    # quasi-binomial as R's glm(family = quasibinomial): binomial SEs times sqrt(Pearson X2 / df).
    # (statsmodels' scale="X2" divides by the trials again for two-column endog.)
    phi = float(fit.pearson_chi2) / dof
    se = float(fit.bse[1]) * np.sqrt(phi)
    beta = float(fit.params[1])
    if not np.isfinite(se) or se == 0:
        return beta, np.nan, np.nan, np.nan
    crit = stats.t.ppf(0.975, dof)
    p = float(2 * stats.t.sf(abs(beta) / se, dof))
    return beta, beta - crit * se, beta + crit * se, p


@dataclass
class RankTest:
    """Spearman's rho across units with a permutation p-value and a matching interval."""

    rho: float
    pvalue: float
    ci_low: float
    ci_high: float
    method: str


@cache
def _all_orderings(n: int) -> np.ndarray:
    """Every permutation of ``range(n)`` (n! rows), computed once per n."""
    return np.array(list(itertools.permutations(range(n))), dtype=np.int8)


@cache
def _untied_null(n: int) -> np.ndarray:
    """|rho| of ranks 1..n against each of their n! orderings, sorted (no ties; cached per n)."""
    r = np.arange(n, dtype=float)
    null, _ = _null_rhos(r, r, 0, 0)
    return np.sort(np.abs(null))


def _null_rhos(rx: np.ndarray, ry: np.ndarray, seed: int, n_resamples: int) -> tuple[np.ndarray, str]:
    """rho of ``rx`` against every (or ``n_resamples`` random) reordering of ``ry``."""
    n = rx.size
    cx = rx - rx.mean()
    cy = ry - ry.mean()
    denom = np.sqrt((cx @ cx) * (cy @ cy))
    if n <= EXACT_MAX_N:
        orders = _all_orderings(n)
        method = f"exact permutation ({math.factorial(n)} orderings)"
    else:
        rng = np.random.default_rng(seed)
        orders = rng.permuted(np.tile(np.arange(n), (n_resamples, 1)), axis=1)
        method = f"Monte Carlo permutation ({n_resamples} orderings, seed {seed})"
    out = np.empty(len(orders))
    step = 200_000
    for a in range(0, len(orders), step):
        out[a : a + step] = cy[orders[a : a + step]] @ cx / denom
    return out, method


def spearman_test(
    x: np.ndarray, y: np.ndarray, *, seed: int = 0, n_resamples: int = MC_RESAMPLES, alpha: float = 0.05
) -> RankTest:
    """Spearman's rho between units (e.g. patients) with a permutation p-value.

    scipy's t approximation of the p-value rejects 8% of true nulls at n = 5; here the
    null distribution of rho comes from permuting ``y`` against ``x``: all n! orderings
    up to :data:`EXACT_MAX_N` units, above that ``n_resamples`` seeded random orderings,
    with p = (b + 1) / (R + 1) (never 0). Ties keep their average ranks.

    The interval agrees with the p-value: it is a Fisher-z interval whose half-width is
    the permutation null's two-sided ``1 - alpha`` critical value of ``|rho|`` (on the z
    scale), so it excludes 0 exactly when ``|rho|`` passes that critical value.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = x.size
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return RankTest(np.nan, np.nan, np.nan, np.nan, "not computed")
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    rho = float(np.corrcoef(rx, ry)[0, 1])
    tol = 1e-12
    exact = n <= EXACT_MAX_N
    untied = np.unique(rx).size == n and np.unique(ry).size == n
    if exact and untied:
        null = _untied_null(n)  # the exact null depends only on n without ties
        method = f"exact permutation ({math.factorial(n)} orderings)"
    else:
        raw, method = _null_rhos(rx, ry, seed, n_resamples)
        null = np.sort(np.abs(raw))

    def pval(t: np.ndarray) -> np.ndarray:
        b = null.size - np.searchsorted(null, t - tol, side="left")
        return b / null.size if exact else (b + 1) / (null.size + 1)

    p = float(pval(np.array([abs(rho)]))[0])
    # the largest |rho| that is not significant: the interval excludes 0 exactly above it
    crit = float(null[pval(null) >= alpha].max())
    half = np.arctanh(min(crit, 0.999999)) + 1e-9  # |rho| == crit is not significant: 0 stays inside
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    return RankTest(rho, float(min(p, 1.0)), float(np.tanh(z - half)), float(np.tanh(z + half)), method)


def partial_spearman(x: np.ndarray, y: np.ndarray, covariates: np.ndarray | None) -> float:
    """Spearman's rho of ``x`` and ``y`` adjusted for covariates (ranks, then residuals).

    The ranks of ``x`` and ``y`` are regressed on the covariates (numeric columns as
    ranks, already-dummy columns as they are) and the residuals correlated; without
    covariates this is Spearman's rho.
    """
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    if covariates is None or np.size(covariates) == 0:
        return float(np.corrcoef(rx, ry)[0, 1])
    cov = np.atleast_2d(np.asarray(covariates, float).T).T
    cols = [np.ones(rx.size)]
    for c in cov.T:
        if np.ptp(c) == 0:
            continue
        is_dummy = set(np.unique(c)) <= {0.0, 1.0}
        cols.append(c if is_dummy else stats.rankdata(c))
    design = np.column_stack(cols)
    beta_x, *_ = np.linalg.lstsq(design, rx, rcond=None)
    beta_y, *_ = np.linalg.lstsq(design, ry, rcond=None)
    ex, ey = rx - design @ beta_x, ry - design @ beta_y
    if ex.std() == 0 or ey.std() == 0:
        return np.nan
    return float(np.corrcoef(ex, ey)[0, 1])


def count_test(k: int, n: int, p0: float) -> tuple[float, float, float]:
    """One-sided binomial test that more than ``p0`` of ``n`` units are positive.

    Returns p = P(X >= k | n, p0) and the Clopper-Pearson 95% interval of k / n.
    """
    if n == 0:
        return np.nan, np.nan, np.nan
    res = stats.binomtest(int(k), int(n), p0, alternative="greater")
    ci = res.proportion_ci(confidence_level=0.95, method="exact")
    return float(res.pvalue), float(ci.low), float(ci.high)


def simes(p: np.ndarray) -> float:
    """Simes' combination of p-values (valid under independence and positive dependence).

    ``min_i m p_(i) / i``: one small p among m needs m p < alpha (as Bonferroni), but
    several small p-values reach significance together, so a claim with many pairs can
    still pass when a permutation p-value cannot go below 1 / (n_perms + 1).
    """
    p = np.sort(np.asarray(p, float)[np.isfinite(p)])
    if p.size == 0:
        return np.nan
    return float(min(1.0, np.min(p * p.size / np.arange(1, p.size + 1))))


#: Up to this many units the sign-flip null is enumerated exactly (2^n sign vectors).
SIGN_FLIP_EXACT_MAX_N = 16


@dataclass
class SignFlipTest:
    """A paired (one-sample) location test: the mean difference, its interval and p."""

    mean: float
    pvalue: float
    ci_low: float
    ci_high: float
    method: str
    min_pvalue: float


@cache
def _all_signs(n: int) -> np.ndarray:
    """Every sign vector of length n (2^n rows of +-1), computed once per n."""
    return 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.int8)


def sign_flip_test(
    d: np.ndarray, *, seed: int = 0, n_resamples: int = MC_RESAMPLES, alpha: float = 0.05
) -> SignFlipTest:
    """Sign-flip permutation test of the mean of paired differences (one per unit).

    Under the null of no paired effect each unit's difference is as likely positive as
    negative (symmetry), so the null distribution of the mean comes from flipping the
    signs of the observed differences: all 2^n sign vectors up to
    :data:`SIGN_FLIP_EXACT_MAX_N` units (p = b / 2^n, the identity included), above it
    ``n_resamples`` seeded random vectors (p = (b + 1) / (R + 1)). Two-sided on ``|mean|``.
    With n units the smallest exact p is 2 / 2^n (n = 3: 0.25; n = 5: 0.0625; n = 6:
    0.031), reported as ``min_pvalue``: below 6 units no result can reach 0.05.

    The interval agrees with the p-value, as :func:`spearman_test`'s: ``mean +- c`` where
    ``c`` is the largest null ``|mean|`` that is not significant at ``alpha``, so it
    excludes 0 exactly when p < alpha.
    """
    d = np.asarray(d, float)
    n = d.size
    if n < 1 or not np.isfinite(d).all():
        return SignFlipTest(np.nan, np.nan, np.nan, np.nan, "not computed", np.nan)
    mean = float(d.mean())
    exact = n <= SIGN_FLIP_EXACT_MAX_N
    if exact:
        signs = _all_signs(n)
        method = f"exact sign-flip permutation ({2**n} sign vectors)"
    else:
        rng = np.random.default_rng(seed)
        signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n_resamples, n))
        method = f"Monte Carlo sign-flip permutation ({n_resamples} sign vectors, seed {seed})"
    null = np.sort(np.abs(signs @ d / n))
    tol = 1e-12 * max(1.0, float(np.abs(d).max()))

    def pval(t: np.ndarray) -> np.ndarray:
        b = null.size - np.searchsorted(null, t - tol, side="left")
        return b / null.size if exact else (b + 1) / (null.size + 1)

    p = float(min(pval(np.array([abs(mean)]))[0], 1.0))
    crit = float(null[pval(null) >= alpha].max()) + tol  # |mean| == crit is not significant
    min_p = 2 / 2**n if exact else 1 / (n_resamples + 1)
    return SignFlipTest(mean, p, mean - crit, mean + crit, method, float(min_p))
