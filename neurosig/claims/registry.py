"""The claims registry.

Read and checked in :mod:`neurosig.knowledge.claims`, against the claim levels
registered in :mod:`neurosig.claims.levels` (a new level is valid at once).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..knowledge.claims import EXPECTED, VARIABLE_KINDS  # noqa: F401 - the claims stage's names
from ..knowledge.claims import load_claims as _load_claims
from ..knowledge.claims import validate_claims as _validate_claims
from .levels import LEVELS


def validate_claims(doc: dict[str, Any], source: str = "claims") -> dict[str, Any]:
    """Check a claims document against the library, vocabulary, axis and registered levels."""
    return _validate_claims(doc, source, levels=tuple(LEVELS))


def load_claims(path: str | Path | None = None) -> dict[str, Any]:
    """The bundled claims (``signatures/claims.yaml``) or a user file, validated."""
    return _load_claims(path, levels=tuple(LEVELS))
