"""Cell types from marker signatures, resolved per cluster of a standard scanpy embedding.

1. A standard embedding on ``X`` (log-normalised): highly variable genes, PCA, an exact
   neighbourhood graph and Leiden clusters (seeded).
2. Every marker signature of ``signatures/annotation.yaml`` is scored with the engine
   (``score_genes``); a term's score is the highest of its sets' scores (control-
   subtracted means share one scale, so terms compare directly).
3. Each cluster takes the term with the highest mean score; each cell gets
   a confidence, the softmax weight of that term among all terms for that cell.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache

import anndata as ad
import numpy as np
import pandas as pd
import yaml

from .. import _keys
from .._resources import signatures_dir
from ..errors import InputDataError
from ..score.engine import score

MIN_CELLS = 20


@cache
def annotation_terms() -> dict[str, dict]:
    """Vocabulary term -> marker set ids and whether it may serve as a normal reference."""
    return yaml.safe_load((signatures_dir() / "annotation.yaml").read_text())["terms"]


@dataclass(frozen=True)
class Embedding:
    """A seeded scanpy embedding and what it takes to place other cells in it.

    ``coords = (X[:, genes] - mean) @ loadings`` for the embedded cells (scanpy's PCA
    centres the highly variable genes and does not scale them), so any other cell with
    the same genes projects into the same space.
    """

    clusters: pd.Series
    """Leiden cluster of each embedded cell."""
    genes: np.ndarray
    """Column numbers of the highly variable genes the PCA used."""
    mean: np.ndarray
    """Mean of each of those genes over the embedded cells (the PCA's centring)."""
    loadings: np.ndarray
    """Genes x components: scanpy's ``varm["PCs"]`` rows of those genes."""
    coords: np.ndarray
    """Cells x components: scanpy's ``obsm["X_pca"]``."""

    def project(self, x) -> np.ndarray:
        """Coordinates of cells (rows of a matrix over the same genes) in this PCA."""
        block = x[:, self.genes]
        product = block @ self.loadings
        return np.asarray(product) - self.mean @ self.loadings


def embedding(
    adata: ad.AnnData, *, seed: int = 0, resolution: float = 1.0, n_top_genes: int = 2000
) -> Embedding:
    """A standard scanpy embedding (computed on a copy): Leiden clusters and the PCA basis."""
    import scanpy as sc

    if adata.n_obs < MIN_CELLS:
        raise InputDataError(
            f"{adata.n_obs} cells are too few for a neighbourhood graph (need at least {MIN_CELLS}); "
            "annotate a larger sample or pool samples first."
        )
    work = ad.AnnData(
        X=adata.X.copy(), obs=pd.DataFrame(index=adata.obs_names), var=pd.DataFrame(index=adata.var_names)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc.pp.highly_variable_genes(work, n_top_genes=min(n_top_genes, work.n_vars - 1))
        n_comps = int(min(30, work.n_obs - 1, int(work.var["highly_variable"].sum()) - 1))
        sc.pp.pca(work, n_comps=n_comps, mask_var="highly_variable", random_state=seed)
        # exact neighbours (scikit-learn, brute force), as scanpy itself uses below 8,192
        # cells; above, its approximate default (pynndescent >= 0.6 returns a csr_array,
        # which scanpy 1.11 cannot read) fails.
        sc.pp.neighbors(work, n_neighbors=min(15, work.n_obs - 1), random_state=seed, transformer="sklearn")
        sc.tl.leiden(
            work, resolution=resolution, random_state=seed, flavor="igraph", n_iterations=2, directed=False
        )
    genes = np.flatnonzero(work.var["highly_variable"].to_numpy())
    x = work.X[:, genes]
    mean = np.asarray(x.mean(axis=0)).ravel()
    return Embedding(
        clusters=work.obs["leiden"].astype(str),
        genes=genes,
        mean=mean,
        loadings=np.asarray(work.varm["PCs"])[genes],
        coords=np.asarray(work.obsm["X_pca"]),
    )


def embed(adata: ad.AnnData, *, seed: int = 0, resolution: float = 1.0, n_top_genes: int = 2000) -> pd.Series:
    """Leiden clusters of a standard scanpy embedding (computed on a copy; labels returned)."""
    return embedding(adata, seed=seed, resolution=resolution, n_top_genes=n_top_genes).clusters


def term_scores(adata: ad.AnnData, *, seed: int = 0) -> pd.DataFrame:
    """Score of every annotation term per cell.

    The maximum over the term's sets of scanpy-style control-subtracted means, which are
    on one scale across sets.
    """
    terms = annotation_terms()
    ids = sorted({s for t in terms.values() for s in t["sets"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = score(
            adata,
            ids,
            method="score_genes",
            random_state=seed,
            min_coverage=0.2,
            min_genes=2,
            key_added=_keys.MARKERS,
            strict=False,
        )
    out = {}
    for term, spec in terms.items():
        cols = [s for s in spec["sets"] if s in scores.columns]
        if cols:
            out[term] = scores[cols].max(axis=1)
    frame = pd.DataFrame(out)
    if frame.empty:
        raise InputDataError("No marker signature has enough genes in this dataset to annotate cell types.")
    return frame


def annotate_cell_types(
    adata: ad.AnnData, *, seed: int = 0, resolution: float = 1.5, clusters: pd.Series | None = None
) -> pd.DataFrame:
    """Marker-based cell type per cell, resolved per Leiden cluster.

    Writes ``.obs["leiden"]``, ``.obs["cell_type_markers"]`` and
    ``.obs["cell_type_marker_confidence"]``; returns them with the per-term scores.
    ``clusters``: the Leiden clusters of an :func:`embedding` already computed with the
    same ``seed`` and ``resolution`` (default: computed here).
    """
    if clusters is None:
        clusters = embed(adata, seed=seed, resolution=resolution)
    if clusters.nunique() < 2:
        raise InputDataError(
            "The embedding found a single cluster: cell types cannot be told apart by cluster. "
            "Raise the resolution (e.g. resolution=2) or give author labels."
        )
    z = term_scores(adata, seed=seed)
    by_cluster = z.groupby(clusters.to_numpy()).mean()
    label = by_cluster.idxmax(axis=1)
    cell_label = clusters.map(label)
    weights = np.exp(z.to_numpy() - z.to_numpy().max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    col = {t: i for i, t in enumerate(z.columns)}
    confidence = weights[np.arange(len(z)), cell_label.map(col).to_numpy()]
    adata.obs["leiden"] = pd.Categorical(clusters)
    adata.obs["cell_type_markers"] = cell_label.to_numpy()
    adata.obs["cell_type_marker_confidence"] = confidence
    return z.assign(leiden=clusters, cell_type_markers=cell_label, confidence=confidence)
