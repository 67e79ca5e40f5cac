"""Pseudobulk scoring: ssGSEA and GSVA (through gseapy) per patient and cell type.

Linear values (raw counts, or the TPM/CPM layer) are summed over the cells of each
group (default: dataset x patient x cell type, as ``scanpy.get.aggregate(func="sum")``),
brought to ``log2(CPM + 1)``, and scored with ``gseapy.ssgsea`` or ``gseapy.gsva`` on
the library's signatures (genes with positive weight). Groups with fewer than
``min_cells`` cells are not scored and are listed, never dropped silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import _keys
from ..errors import InputDataError
from ..knowledge.signatures import resolve
from .coverage import check_coverage, coverage


def pseudobulk(
    adata: ad.AnnData,
    *,
    layer: str | None = None,
    groupby: Sequence[str] = ("dataset", "patient", "cell_type"),
    min_cells: int = 10,
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Summed linear expression per group: (genes x groups log2 CPM+1, cells per group, small groups)."""
    layer = layer or _keys.record(adata).get(_keys.LINEAR_LAYER) or "counts"
    if layer not in adata.layers:
        raise InputDataError(
            f"Pseudobulk needs linear values (counts/TPM) in a layer; {layer!r} is absent "
            f"(layers: {list(adata.layers)}). Log-normalised X cannot be summed."
        )
    mat = sp.csr_matrix(adata.layers[layer])
    if mat.nnz and mat.data.min() < 0:
        raise InputDataError(f"layers[{layer!r}] has negative values; pseudobulk needs counts or TPM.")
    keys = adata.obs[list(groupby)].astype(str).agg("|".join, axis=1)
    codes, groups = pd.factorize(keys)
    indicator = sp.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(len(groups), len(codes))
    )
    sums = np.asarray((indicator @ mat).todense())
    n_cells = pd.Series(np.bincount(codes, minlength=len(groups)), index=groups)
    keep = n_cells.to_numpy() >= min_cells
    small = pd.DataFrame({"group": groups[~keep], "n_cells": n_cells.to_numpy()[~keep]})
    if not keep.any():
        raise InputDataError(f"No group has at least min_cells={min_cells} cells; lower min_cells.")
    sums = sums[keep]
    lib = sums.sum(1, keepdims=True)
    cpm = np.divide(sums, lib, out=np.zeros_like(sums), where=lib > 0) * 1e6
    expr = pd.DataFrame(np.log2(cpm + 1).T, index=adata.var_names, columns=groups[keep])
    return expr, n_cells[keep], small


def score_pseudobulk(
    adata: ad.AnnData,
    signatures=None,
    *,
    method: str = "ssgsea",
    layer: str | None = None,
    groupby: Sequence[str] = ("dataset", "patient", "cell_type"),
    min_cells: int = 10,
    min_coverage: float = 0.5,
    min_size: int = 5,
    seed: int = 0,
    threads: int = 1,
) -> pd.DataFrame:
    """ssGSEA or GSVA scores per group and signature (long format), via gseapy.

    Also stored in ``.uns["neurosig"]["pseudobulk"][method]`` as a table with the groups
    that were too small to score.

    Parameters
    ----------
    adata
        Cells x genes with a linear (counts or TPM) layer.
    signatures
        Signatures to score (default: the whole library).
    method
        ``ssgsea`` or ``gsva``.
    layer
        Layer summed per group (default: the dataset's linear layer, else ``counts``).
    groupby
        ``.obs`` columns whose combinations are the groups.
    min_cells
        Smaller groups are not scored and are listed.
    min_coverage
        Smallest fraction of a signature's genes measured.
    min_size
        Smallest number of a signature's genes measured.
    seed
        Seed of gseapy.
    threads
        gseapy's threads.
    """
    import gseapy

    if method not in ("ssgsea", "gsva"):
        raise InputDataError(f"method must be 'ssgsea' or 'gsva', not {method!r}.")
    expr, n_cells, small = pseudobulk(adata, layer=layer, groupby=groupby, min_cells=min_cells)
    sigs = resolve(signatures)
    covs = [coverage(s, adata.var_names) for s in sigs]
    ok, refused = check_coverage(covs, min_coverage, min_size, strict=signatures is not None)
    by_id = {s.id: s for s in sigs}
    gene_sets = {c.signature: [g for g, w in c.weights(by_id[c.signature]).items() if w > 0] for c in ok}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "ssgsea":
            res = gseapy.ssgsea(
                data=expr,
                gene_sets=gene_sets,
                outdir=None,
                min_size=min_size,
                max_size=5000,
                sample_norm_method="rank",
                permutation_num=0,
                seed=seed,
                threads=threads,
            )
        else:
            res = gseapy.gsva(
                data=expr,
                gene_sets=gene_sets,
                outdir=None,
                min_size=min_size,
                max_size=5000,
                seed=seed,
                threads=threads,
            )
    table = res.res2d.rename(columns={"Name": "group", "Term": "signature"})
    score_col = "NES" if method == "ssgsea" else "ES"
    table = table[["group", "signature", score_col]].rename(columns={score_col: "score"})
    table["score"] = table["score"].astype(float)
    parts = table["group"].str.split("|", expand=True)
    parts.columns = list(groupby)
    table = pd.concat([parts, table], axis=1)
    table["n_cells"] = table["group"].map(n_cells).astype(int)
    _keys.store(adata).setdefault(_keys.PSEUDOBULK, {})[method] = {
        "min_cells": min_cells,
        "groupby": list(groupby),
        "seed": seed,
        "too_small": dict(zip(small["group"], small["n_cells"].astype(int), strict=True)),
        "refused": refused,
    }
    return table.drop(columns="group").sort_values([*groupby, "signature"]).reset_index(drop=True)
