"""Signatures and scoring: the cited library, coverage, methods and the streamed engine."""

from .coverage import Coverage, coverage
from .engine import score
from .library import Signature, export_gmt, library, read_gmt, read_yaml, resolve
from .methods import METHODS

__all__ = [
    "METHODS",
    "Coverage",
    "Signature",
    "coverage",
    "export_gmt",
    "library",
    "read_gmt",
    "read_yaml",
    "resolve",
    "score",
]
