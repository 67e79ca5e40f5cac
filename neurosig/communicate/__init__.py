"""Ligand-receptor communication: resources, CellPhoneDB's method, per-sample tables, the axis."""

from ..knowledge.axis import claim_ids, load_axis
from .ampar import cp_ampar_fractions
from .axis import add_axis_columns
from .by_sample import cellphonedb_by_sample, interaction_matrix
from .cellphonedb import TABLE_COLUMNS, cellphonedb
from .infer import communicate
from .resources import list_resources, load_resource

__all__ = [
    "TABLE_COLUMNS",
    "add_axis_columns",
    "cellphonedb",
    "cellphonedb_by_sample",
    "claim_ids",
    "communicate",
    "cp_ampar_fractions",
    "interaction_matrix",
    "list_resources",
    "load_axis",
    "load_resource",
]
