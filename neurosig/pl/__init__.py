"""Plots (scanpy's ``pl`` namespace): communication dot plot and the axis diagram."""

from .communication import axis_diagram, communication_dotplot

__all__ = ["axis_diagram", "communication_dotplot"]
