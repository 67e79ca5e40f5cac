"""Univariate linear model (decoupler's ``mt.ulm``), from per-cell moments in one pass.

decoupler fits, for each cell and set, ``x_g = b0 + b1 * w_g`` over the genes detected in
the dataset (``w_g``: the set's weight, 0 off the set) and reports the t-value of ``b1``:
``t = r * sqrt(df / ((1 - r + 2.2e-16)(1 + r + 2.2e-16)))``, ``df = n - 2``, with ``r``
the Pearson correlation of ``x`` and ``w``. ``r`` needs only ``X @ W``, the row sums and
row sums of squares of ``X``, and the moments of ``W``, so every set is scored in the
same single pass over the matrix.
"""

from __future__ import annotations

import numpy as np

from ._meta import MethodMeta

EPS = 2.2e-16


def tvalues(xw: np.ndarray, rowsum: np.ndarray, rowsq: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """t-values (cells x sets) from ``X @ W``, row moments of X and the weights W (genes x sets)."""
    sw = w.sum(0)
    sw2 = (w**2).sum(0)
    cov = (xw - np.outer(rowsum, sw) / n) / (n - 1)
    sd_x = np.sqrt(np.maximum(rowsq - rowsum**2 / n, 0) / (n - 1))
    sd_w = np.sqrt((sw2 - sw**2 / n) / (n - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.outer(sd_x, sd_w)
    df = n - 2
    return r * np.sqrt(df / ((1.0 - r + EPS) * (1.0 + r + EPS)))


META = MethodMeta(
    name="ulm",
    kind="moments",
    func=tvalues,
    desc="t-value of a univariate linear model of each cell's expression on the set's weights, "
    "as decoupler's mt.ulm",
    reference="Badia-i-Mompel 2022 Bioinformatics Advances; decoupler mt.ulm",
    needs="log-normalised",
    weighted=True,
)
