"""Scoring: coverage, the method registry and the streamed engine.

The user's entry point is :func:`neurosig.tl.score`; the signature library is read by
:mod:`neurosig.knowledge`. This package holds what extends scoring: :data:`METHODS`
(one module per method in :mod:`.methods`) and the coverage record.
"""

from .coverage import Coverage, coverage
from .methods import METHODS

__all__ = [
    "METHODS",
    "Coverage",
    "coverage",
]
