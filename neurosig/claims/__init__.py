"""The claims engine (pipeline stage *test*): registry, statistics, evidence, pooling."""

from ..knowledge.claims import load_claims, validate_claims
from .engine import EVIDENCE_COLUMNS, circularity_guard, pool_evidence, test_claims

__all__ = [
    "EVIDENCE_COLUMNS",
    "circularity_guard",
    "load_claims",
    "pool_evidence",
    "test_claims",
    "validate_claims",
]
