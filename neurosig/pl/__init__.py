"""Plots (scanpy's ``pl`` namespace): communication dot plot, axis diagram, forest plots."""

from .claims import forest
from .communication import axis_diagram, communication_dotplot

__all__ = ["axis_diagram", "communication_dotplot", "forest"]
