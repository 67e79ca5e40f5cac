"""Malignant versus normal cells by inferred copy number (infercnvpy).

1. Gene positions come from ``.var`` (``chromosome``, ``start``, ``end``) when the data
   carries them for most genes, otherwise from the bundled GRCh38 table
   (``signatures/genes/gene_positions.tsv.gz``, from org.Hs.eg.db); positions are never
   guessed, and a dataset without them is refused.
2. The normal reference is the user's, or the cells of clusters annotated by markers as
   immune, oligodendrocytes or vascular (``normal_reference`` in
   ``signatures/annotation.yaml``). Malignant OPC-like cells can carry oligodendrocyte
   markers, so when fewer than 10 reference cells are immune a warning says the
   reference may itself be malignant (a CD45-depleted sort needs an explicit reference).
3. ``infercnvpy.tl.infercnv`` smooths expression along each chromosome relative to the
   reference; a cell's CNV score is the root mean square of its smoothed profile.
4. A cell is called malignant when its Leiden cluster is not an immune type, most cells
   of the cluster have a CNV score above the reference's 95th percentile, and the cell is
   not itself in the reference.
"""

from __future__ import annotations

import gzip
import warnings
from functools import cache

import anndata as ad
import numpy as np
import pandas as pd

from .. import _keys
from .._resources import signatures_dir
from ..errors import InputDataError
from .cell_types import annotation_terms

MIN_REFERENCE = 10


@cache
def bundled_positions() -> pd.DataFrame:
    """GRCh38 gene positions (primary chromosomes) from org.Hs.eg.db, by symbol."""
    with gzip.open(signatures_dir() / "genes" / "gene_positions.tsv.gz", "rt") as fh:
        return pd.read_csv(fh, sep="\t", index_col=0, dtype={"chromosome": str})


def gene_positions(adata: ad.AnnData, min_fraction: float = 0.5) -> tuple[pd.DataFrame, str]:
    """Positions for ``var_names``: the data's own when it has them, else the bundled table."""
    cols = ["chromosome", "start", "end"]
    if set(cols) <= set(adata.var.columns) and adata.var["chromosome"].notna().mean() >= min_fraction:
        return adata.var[cols].copy(), "dataset .var"
    table = bundled_positions().reindex(adata.var_names)
    if table["chromosome"].notna().mean() < min_fraction:
        raise InputDataError(
            f"Gene positions are known for only {table['chromosome'].notna().mean():.0%} of genes, in "
            "neither .var (chromosome, start, end) nor the bundled GRCh38 table: copy-number "
            "inference needs positions. Add them to .var from the annotation the data was aligned to."
        )
    return table, "bundled GRCh38 table (org.Hs.eg.db 3.16)"


def cnv_scores(adata: ad.AnnData, reference: np.ndarray, *, window_size: int = 100) -> np.ndarray:
    """Root-mean-square inferred copy-number signal per cell (infercnvpy, reference-relative)."""
    import infercnvpy as cnv

    positions, _ = gene_positions(adata)
    keep = positions["chromosome"].notna().to_numpy()
    work = ad.AnnData(
        X=adata.X[:, keep].copy(),
        obs=pd.DataFrame(index=adata.obs_names),
        var=positions[keep].astype({"start": "int64", "end": "int64"}),
    )
    work.obs["_ref"] = np.where(reference, "reference", "query")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cnv.tl.infercnv(
            work, reference_key="_ref", reference_cat=["reference"], window_size=window_size, n_jobs=1
        )
    x = work.obsm[_keys.X_CNV]
    x = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
    return np.sqrt((x**2).mean(axis=1))


def reference_tier(tier: int) -> set[str]:
    """Annotation terms of one normal-reference tier (1: immune; 2: oligodendrocyte, vascular)."""
    return {t for t, spec in annotation_terms().items() if spec.get("normal_reference") == tier}


def default_reference(adata: ad.AnnData) -> np.ndarray:
    """Cells of marker clusters that may serve as normal reference (immune, oligodendrocyte, vascular).

    Warns when fewer than ``MIN_REFERENCE`` of them are immune: without immune cells the
    reference rests on glial/vascular-like clusters, which can be malignant.
    """
    if "cell_type_markers" not in adata.obs:
        raise InputDataError("Run neurosig.annotate.annotate_cell_types first (no marker annotation).")
    types = adata.obs["cell_type_markers"].astype(str)
    immune = types.isin(reference_tier(1)).to_numpy()
    reference = immune | types.isin(reference_tier(2)).to_numpy()
    if immune.sum() < MIN_REFERENCE <= reference.sum():
        warnings.warn(
            f"Only {int(immune.sum())} immune cells: the copy-number reference rests on oligodendrocyte/"
            "vascular-like clusters, which can be malignant in a glioma (e.g. CD45-depleted samples). "
            "Check the calls, or give a reference explicitly.",
            UserWarning,
            stacklevel=3,
        )
    return reference


def call_malignant(
    adata: ad.AnnData,
    *,
    reference: np.ndarray | None = None,
    quantile: float = 0.95,
    window_size: int = 100,
) -> pd.DataFrame:
    """CNV score and malignant call per cell (``.obs["cnv_score"]``, ``.obs["malignant_cnv"]``).

    ``reference``: boolean mask of normal cells; by default the marker-based one.
    """
    if reference is None:
        reference = default_reference(adata)
    reference = np.asarray(reference, dtype=bool)
    if reference.sum() < MIN_REFERENCE:
        raise InputDataError(
            f"No candidate normal reference: {int(reference.sum())} confidently normal cells (immune, "
            f"oligodendrocytes, vascular), need at least {MIN_REFERENCE}. Give a reference explicitly "
            "(reference=mask of normal cells, or --reference-key/--reference-cat on the CLI)."
        )
    scores = cnv_scores(adata, reference, window_size=window_size)
    threshold = float(np.quantile(scores[reference], quantile))
    high = scores > threshold
    clusters = (
        adata.obs["leiden"].astype(str).to_numpy() if "leiden" in adata.obs else np.zeros(adata.n_obs, str)
    )
    never_malignant = reference_tier(1)
    marker_type = (
        adata.obs.get("cell_type_markers", pd.Series("", index=adata.obs_names)).astype(str).to_numpy()
    )
    frac_high = pd.Series(high).groupby(clusters).mean()
    cluster_malignant = {c: f >= 0.5 for c, f in frac_high.items()}
    malignant = np.array(
        [
            cluster_malignant[c] and t not in never_malignant
            for c, t in zip(clusters, marker_type, strict=True)
        ]
    )
    malignant &= ~reference
    adata.obs["cnv_score"] = scores
    adata.obs["malignant_cnv"] = malignant
    _keys.store(adata)[_keys.CNV] = {
        "threshold": threshold,
        "quantile": quantile,
        "window_size": window_size,
        "n_reference": int(reference.sum()),
        "positions": gene_positions(adata)[1],
    }
    return pd.DataFrame(
        {"cnv_score": scores, "cnv_high": high, "malignant": malignant}, index=adata.obs_names
    )
