"""The columns of the evidence table and of the per-patient estimates behind it."""

from __future__ import annotations

#: Kinds of data a dataset can be (``.uns["neurosig"]["modality"]``, default single-cell).
DATA_TYPES = ("single_cell", "bulk", "multi_region")

EVIDENCE_COLUMNS = [
    "dataset",
    "data_type",
    "cohort_group",
    "claim",
    "statement",
    "section",
    "level",
    "proxy",
    "x",
    "y",
    "population",
    "expected",
    "effect_type",
    "effect",
    "ci_low",
    "ci_high",
    "pvalue",
    "qvalue",
    "verdict",
    "reason",
    "min_effect",
    "effect_unadjusted",
    "ci_low_unadjusted",
    "ci_high_unadjusted",
    "pvalue_unadjusted",
    "adjusted_for",
    "n_patients",
    "n_patients_dropped",
    "n_cells",
    "tau2",
    "i2",
    "ols_slope",
    "ols_ci_low",
    "ols_ci_high",
    "lmm_slope",
    "lmm_pvalue",
    "circularity",
    "coverage",
    "z",
    "z_se",
    "z_unadjusted",
    "z_se_unadjusted",
]

#: ``difference``: a paired claim's per-patient region A - region B (``levels/paired.py``).
PER_PATIENT_COLUMNS = ["claim", "patient", "n_cells", "rho", "rho_unadjusted", "pvalue", "difference"]
