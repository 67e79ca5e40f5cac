"""The per-patient table's specification: compartments and the composite index.

Read from ``signatures/patient_scores.yaml``; ``neurosig.export.patient_scores`` builds
the table from it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from .._resources import signatures_dir


@cache
def patient_score_spec() -> dict[str, Any]:
    """Compartments and the composite index (``signatures/patient_scores.yaml``)."""
    with open(signatures_dir() / "patient_scores.yaml") as fh:
        return yaml.safe_load(fh)
