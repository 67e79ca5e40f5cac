"""Basic quality control of a harmonised AnnData: cells, genes per cell, by patient and type."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from .._matrix import genes_detected


def summary_table(adata: ad.AnnData) -> pd.DataFrame:
    """Cells per patient x cell type (rows: patients; columns: every type seen; no cell dropped).

    The table has one row per dataset and patient and a ``total`` column; its grand
    total equals ``adata.n_obs``.

    Parameters
    ----------
    adata
        Harmonised cells x genes (``obs`` ``dataset``, ``patient``, ``cell_type``).
    """
    obs = adata.obs
    table = pd.crosstab(
        [obs["dataset"].astype(str), obs["patient"].astype(str)],
        obs["cell_type"].astype(str),
    )
    table["total"] = table.sum(axis=1)
    return table.reset_index()


def qc_table(adata: ad.AnnData) -> pd.DataFrame:
    """Per patient and cell type: cells, and genes detected per cell (median, 5th/95th percentile).

    Uses ``obs["n_genes"]`` written by :func:`neurosig.datasets.harmonise`; computes it
    from ``X`` when absent (a row chunk at a time: ``X`` may be backed).

    Parameters
    ----------
    adata
        Harmonised cells x genes (``obs`` ``dataset``, ``patient``, ``cell_type``).
    """
    obs = adata.obs.copy()
    if "n_genes" not in obs:
        obs["n_genes"] = genes_detected(adata)
    grouped = obs.groupby(["dataset", "patient", "cell_type"], observed=True)["n_genes"]
    out = grouped.agg(
        n_cells="size",
        genes_per_cell_median="median",
        genes_per_cell_p05=lambda s: float(np.percentile(s, 5)),
        genes_per_cell_p95=lambda s: float(np.percentile(s, 95)),
    )
    return out.reset_index()
