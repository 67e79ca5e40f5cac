"""Annotation of cells where authors gave none: glioma cellular states (Neftel 2019)."""

from .glioma_states import NEFTEL_STATES, assign_states, neftel_states, state_map, state_scores

__all__ = ["NEFTEL_STATES", "assign_states", "neftel_states", "state_map", "state_scores"]
