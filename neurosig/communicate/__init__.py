"""Ligand-receptor communication: resources, CellPhoneDB's method, per-sample tables, the axis.

The user's entry point is :func:`neurosig.tl.communicate`; the axis is read by
:mod:`neurosig.knowledge`.
"""

from .ampar import cp_ampar_fractions
from .axis import add_axis_columns
from .by_sample import cellphonedb_by_sample, interaction_matrix
from .cellphonedb import TABLE_COLUMNS, cellphonedb
from .resources import list_resources, load_resource

__all__ = [
    "TABLE_COLUMNS",
    "add_axis_columns",
    "cellphonedb",
    "cellphonedb_by_sample",
    "cp_ampar_fractions",
    "interaction_matrix",
    "list_resources",
    "load_resource",
]
