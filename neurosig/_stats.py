"""Small statistics shared across layers (communication and claims): multiple testing."""

from __future__ import annotations

import numpy as np
from scipy.stats import false_discovery_control


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (scipy's ``false_discovery_control``); NaN stays NaN and is not counted."""
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q[ok] = false_discovery_control(p[ok], method="bh")
    return q
