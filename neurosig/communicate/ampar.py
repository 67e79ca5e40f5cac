"""Calcium-permeable AMPA receptors: receivers with GluA1/3/4 but no GluA2.

AMPARs that lack the (Q/R-edited) GluA2 subunit pass calcium; expression cannot see
editing or assembly, so the proxy is a cell that detects GRIA1, GRIA3 or GRIA4 and
not GRIA2 (``signatures/communication_axis.yaml``, ``calcium_permeable_ampar``).
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from .._matrix import iter_chunks
from ..errors import InputDataError
from ..knowledge.axis import load_axis

AMPAR_COLUMNS = [
    "n_cells",
    "frac_ampar",
    "frac_gria2",
    "frac_cp_ampar",
    "frac_cp_among_ampar",
    "genes_missing",
]


def cp_ampar_fractions(
    adata: ad.AnnData,
    groupby: str = "cell_type",
    *,
    layer: str | None = None,
    sample_key: str | None = None,
    chunk_size: int = 20000,
) -> pd.DataFrame:
    """Per group (and sample), the fractions of cells by AMPAR subunit detection.

    Returns
    -------
    One row per group (``sample``, ``group`` when ``sample_key`` is given) with
    ``n_cells``; ``frac_ampar`` (any of GRIA1/3/4 detected); ``frac_gria2``;
    ``frac_cp_ampar`` (GRIA1/3/4 detected and GRIA2 not: the calcium-permeable
    proxy); ``frac_cp_among_ampar`` (that fraction among cells with any of
    GRIA1/3/4; NaN where none); ``genes_missing`` (subunits absent from the data).
    GRIA2 absent from the data makes the proxy undefined, which raises.
    """
    spec = load_axis()["calcium_permeable_ampar"]
    var = pd.Index(adata.var_names)
    if spec["impermeable_subunit"] not in var:
        raise InputDataError(
            f"{spec['impermeable_subunit']} is not among the genes, so GluA2-lacking (calcium-permeable) "
            "AMPARs cannot be told apart; keep all genes when filtering."
        )
    perm = [g for g in spec["permeable_subunits"] if g in var]
    missing = [g for g in spec["permeable_subunits"] if g not in var]
    if groupby not in adata.obs:
        raise InputDataError(f"groupby column {groupby!r} is not in .obs.")
    cols = var.get_indexer(perm + [spec["impermeable_subunit"]])
    any_perm = np.zeros(adata.n_obs, dtype=bool)
    gria2 = np.zeros(adata.n_obs, dtype=bool)
    for a, b, block in iter_chunks(adata, layer, chunk_size):
        sub = block[:, cols].toarray() > 0
        any_perm[a:b] = sub[:, :-1].any(axis=1)
        gria2[a:b] = sub[:, -1]
    keys = [adata.obs[groupby].astype(str).rename("group")]
    if sample_key is not None:
        if sample_key not in adata.obs:
            raise InputDataError(f"sample_key {sample_key!r} is not in .obs.")
        keys.insert(0, adata.obs[sample_key].astype(str).rename("sample"))
    frame = pd.DataFrame({"ampar": any_perm, "gria2": gria2, "cp": any_perm & ~gria2}, index=adata.obs_names)
    grouped = frame.groupby([k.to_numpy() for k in keys], observed=True)
    out = pd.DataFrame(
        {
            "n_cells": grouped.size(),
            "frac_ampar": grouped["ampar"].mean(),
            "frac_gria2": grouped["gria2"].mean(),
            "frac_cp_ampar": grouped["cp"].mean(),
        }
    )
    out["frac_cp_among_ampar"] = (grouped["cp"].sum() / grouped["ampar"].sum()).where(
        grouped["ampar"].sum() > 0
    )
    out["genes_missing"] = ",".join(missing)
    out.index.names = [k.name for k in keys]
    return out.reset_index()
