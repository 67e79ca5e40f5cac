"""Claim-test levels, one module each, and their registry: a claim's ``level:`` names one.

Adding a level is one module (a test function and its :class:`Level`) and one line here.
"""

from ..._registry import by_name
from . import cell, communication, paired, patient, region, survival, tumour
from ._level import Level

LEVELS: dict[str, Level] = by_name(
    cell.LEVEL,
    patient.LEVEL,
    communication.LEVEL,
    tumour.LEVEL,
    region.LEVEL,
    survival.LEVEL,
    paired.LEVEL,
)

__all__ = ["LEVELS", "Level"]
