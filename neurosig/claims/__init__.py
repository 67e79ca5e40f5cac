"""The claims engine (pipeline stage *test*): registry, levels, statistics, evidence, pooling.

:mod:`.engine` runs :func:`neurosig.tl.test_claims` (the user's entry point) over the
claim-test levels of :mod:`.levels` (one module each); :mod:`.variables` resolves a
claim's variables, :mod:`.verdict` words the rows and :mod:`.pooling` pools datasets.
"""

from .context import NotTestable
from .engine import data_type_of
from .evidence import EVIDENCE_COLUMNS, PER_PATIENT_COLUMNS
from .levels import LEVELS, Level
from .pooling import check_independent, pool_evidence
from .registry import load_claims, validate_claims
from .variables import circularity_guard, unsorted_cells
from .verdict import MIN_EFFECT, verdict

__all__ = [
    "EVIDENCE_COLUMNS",
    "LEVELS",
    "MIN_EFFECT",
    "PER_PATIENT_COLUMNS",
    "Level",
    "NotTestable",
    "check_independent",
    "data_type_of",
    "circularity_guard",
    "load_claims",
    "pool_evidence",
    "unsorted_cells",
    "validate_claims",
    "verdict",
]
