"""Simulated glioma single-cell data with planted neuro-immune effects (known truth).

>>> import neurosig as ns
>>> params = ns.sim.SimParams(n_patients=8, n_cells=2400, mhc_effect=-0.5, neural_loading=0.5)
>>> ns.sim.simulate(params, "sim.h5ad")  # doctest: +SKIP
"""

from ._params import CELL_TYPES, DEFAULT_COMPOSITION, LREffect, RegionEffect, SimParams
from ._profiles import Profiles, load_profiles
from ._simulate import simulate, simulate_adata

__all__ = [
    "CELL_TYPES",
    "DEFAULT_COMPOSITION",
    "LREffect",
    "Profiles",
    "RegionEffect",
    "SimParams",
    "load_profiles",
    "simulate",
    "simulate_adata",
]
