"""Plots (scanpy's ``pl`` namespace): scores, state map, communication, forest plots, survival."""

from .claims import forest
from .communication import axis_diagram, communication_dotplot
from .scores import correlation_heatmap, score_distributions
from .states import neftel_state_map
from .survival import kaplan_meier
from .verdicts import verdict_matrix

__all__ = [
    "axis_diagram",
    "communication_dotplot",
    "correlation_heatmap",
    "forest",
    "kaplan_meier",
    "neftel_state_map",
    "score_distributions",
    "verdict_matrix",
]
