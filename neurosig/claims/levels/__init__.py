"""Claim-test levels, one module each, and their registry: a claim's ``level:`` names one.

Adding a level is one module (a test function and its :class:`Level`) and one line here.
"""

from ..._registry import by_name
from . import cell, communication, paired, patient
from ._level import Level

LEVELS: dict[str, Level] = by_name(
    cell.LEVEL,
    patient.LEVEL,
    communication.LEVEL,
    paired.LEVEL,
)

__all__ = ["LEVELS", "Level"]
