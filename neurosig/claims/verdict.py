"""Verdict words (CLAIMS.md): an evidence row's q-value and effect against the smallest effect of interest."""

from __future__ import annotations

import numpy as np

#: Smallest effects of interest by kind of effect (overridden by ``settings.min_effect``).
MIN_EFFECT = {
    "spearman_rho": 0.1,
    "log_odds_per_sd": 0.2,
    "fraction_of_patients": 0.25,
    "log_hazard_ratio": 0.18,
    "paired_smd": 0.2,
    "paired_log_odds_ratio": 0.2,
}


def effect_kind(effect_type: str) -> str:
    """The key of :data:`MIN_EFFECT` for an ``effect_type`` (``""`` when none applies)."""
    text = str(effect_type)
    if text.startswith("spearman"):
        return "spearman_rho"
    if text.startswith("log_odds"):
        return "log_odds_per_sd"
    for kind in ("paired_smd", "paired_log_odds_ratio"):
        if text.startswith(kind):
            return kind
    if text.startswith("fraction_of_patients"):
        return "fraction_of_patients"
    if text.startswith("log_hazard_ratio"):
        return "log_hazard_ratio"
    return ""


def verdict(row: dict, alpha: float, min_effect: dict[str, float] | None = None) -> str:
    """The verdict word of one evidence row (its q-value must be set).

    ``supported``/``contradicted`` need q < alpha *and* an estimate at least the smallest
    effect of interest of its kind (``min_effect``; default :data:`MIN_EFFECT`); a
    significant but smaller estimate, or an interval lying inside +-min_effect, is
    ``negligible``.
    """
    if row.get("verdict") == "not testable":
        return "not testable"
    thresholds = MIN_EFFECT if min_effect is None else min_effect
    own = row.get("min_effect")
    if own is not None and np.isfinite(own):
        m = float(own)  # the dataset's claims file set it (pooled rows carry it over)
    else:
        m = float(thresholds.get(effect_kind(row.get("effect_type", "")), 0.0))
    q = row.get("qvalue")
    effect = row.get("effect")
    lo, hi = row.get("ci_low"), row.get("ci_high")
    significant = q is not None and np.isfinite(q) and q < alpha
    if not significant:
        if m > 0 and row["expected"] != "present" and _finite(lo, hi) and -m < lo and hi < m:
            return "negligible"
        return "inconclusive"
    if row["expected"] == "present":
        return "supported" if effect >= m else "negligible"
    if not abs(effect) >= m:
        return "negligible"
    want = 1 if row["expected"] == "positive" else -1
    return "supported" if np.sign(effect) == want else "contradicted"


def with_verdict_note(row: dict, alpha: float) -> str:
    """The row's reason, plus why a verdict is negligible (two different grounds)."""
    reason = "" if row.get("reason") is None or str(row.get("reason")) == "nan" else str(row["reason"])
    if row.get("verdict") != "negligible":
        return reason
    q = row.get("qvalue")
    if q is not None and np.isfinite(q) and q < alpha:
        note = f"significant but |effect| < min_effect {row['min_effect']:g}"
    else:
        note = f"95% interval inside +-{row['min_effect']:g} (equivalent to no effect that matters)"
    return "; ".join(filter(None, [reason, note]))


def _finite(*values) -> bool:
    return all(v is not None and np.isfinite(v) for v in values)


def min_effect_of(row: dict, thresholds: dict[str, float]) -> float:
    """The smallest effect of interest for a result row (NaN when none applies)."""
    return float(thresholds.get(effect_kind(row.get("effect_type", "")), np.nan))
