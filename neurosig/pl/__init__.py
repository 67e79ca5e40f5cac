"""Plots (scanpy's ``pl`` namespace): scores, Neftel state map, communication, forest plots."""

from .claims import forest
from .communication import axis_diagram, communication_dotplot
from .scores import correlation_heatmap, score_distributions
from .states import neftel_state_map

__all__ = [
    "axis_diagram",
    "communication_dotplot",
    "correlation_heatmap",
    "forest",
    "neftel_state_map",
    "score_distributions",
]
