"""Annotation where authors gave none.

Cell types by markers, malignancy by copy number, glioma cellular states (Neftel 2019).
The user's entry points are :func:`neurosig.tl.annotate` and :func:`neurosig.tl.neftel_states`;
this package holds the steps they are built from.
"""

from .annotate import needs_annotation
from .cell_types import annotate_cell_types
from .glioma_states import NEFTEL_STATES, assign_states, state_map, state_scores
from .malignant import call_malignant, gene_positions

__all__ = [
    "NEFTEL_STATES",
    "annotate_cell_types",
    "assign_states",
    "call_malignant",
    "gene_positions",
    "needs_annotation",
    "state_map",
    "state_scores",
]
