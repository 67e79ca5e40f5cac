"""Signatures and scoring: the cited library, coverage, methods and the streamed engine."""

# `library` comes from the `.library` submodule, not from knowledge: loading that submodule
# (engine does) binds `score.library` to the module; the from-import rebinds it to the function
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
