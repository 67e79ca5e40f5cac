"""Statistics of the claims engine: per-patient associations and their pooling.

Every function returns plain numbers; none knows about claims or AnnData.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats


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
        crit = stats.t.ppf(0.975, k - 1)
        p = 2 * stats.t.sf(abs(mu) / se, k - 1) if se > 0 else (0.0 if mu != 0 else 1.0)
    else:
        se = float(np.sqrt(1 / np.sum(ws)))
        crit = stats.norm.ppf(0.975)
        p = 2 * stats.norm.sf(abs(mu) / se)
    return Pooled(mu, mu - crit * se, mu + crit * se, float(p), tau2, i2, k)


def ols_slope(y: np.ndarray, x: np.ndarray, covariates: np.ndarray | None = None) -> tuple[float, float]:
    """Slope of standardised ``x`` on standardised ``y`` with covariates, and its variance."""
    cols = [np.ones_like(x), _std(x)]
    if covariates is not None:
        cols += [_std(c) for c in np.atleast_2d(covariates.T)]
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


def spearman_ci(rho: float, n: int) -> tuple[float, float]:
    """95% interval of Spearman's rho via Fisher z with variance 1.06 / (n - 3)."""
    if n <= 3 or not np.isfinite(rho):
        return np.nan, np.nan
    z, v = fisher_z(np.array([rho]), np.array([n]))
    half = stats.norm.ppf(0.975) * np.sqrt(v[0])
    return float(np.tanh(z[0] - half)), float(np.tanh(z[0] + half))
