"""Scoring methods, one module each, and their registry (decoupler's layout).

Linear methods turn signatures into one weight matrix (genes x signatures) plus an
offset per signature, from gene statistics computed once; the engine then applies it
to the matrix in a single streamed pass. Rank methods score each chunk of cells for all
signatures at once.
"""

from ._meta import MethodMeta
from ._registry import METHODS

__all__ = ["METHODS", "MethodMeta"]
