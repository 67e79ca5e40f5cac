"""The claims registry: read and checked in :mod:`neurosig.knowledge.claims` (re-exported here)."""

from ..knowledge.claims import (  # noqa: F401 - the claims stage's names for the registry
    EXPECTED,
    LEVELS,
    VARIABLE_KINDS,
    load_claims,
    validate_claims,
)
