"""Annotation where authors gave none.

Cell types by markers, malignancy by copy number, glioma cellular states (Neftel 2019).
"""

from .annotate import annotate, needs_annotation
from .cell_types import annotate_cell_types
from .glioma_states import NEFTEL_STATES, assign_states, neftel_states, state_map, state_scores
from .malignant import call_malignant, gene_positions

__all__ = [
    "NEFTEL_STATES",
    "annotate",
    "annotate_cell_types",
    "assign_states",
    "call_malignant",
    "gene_positions",
    "neftel_states",
    "needs_annotation",
    "state_map",
    "state_scores",
]
