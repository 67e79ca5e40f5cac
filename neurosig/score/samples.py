"""Score every bulk sample: the signature library, ESTIMATE and the Wang 2017 subtype, in one call.

What :func:`score_samples` writes:

``.obsm["neurosig_ssgsea"]``
    the whole library scored with ssGSEA (:mod:`.methods.ssgsea`), one column per signature;
``.obsm["neurosig_ucell"]``
    the fast rank-based alternative: UCell with ``max_rank`` = every gene (no cap, as bulk
    profiles have no dropouts), a normalised Mann-Whitney U of the set's ranks; for an
    up-only set it is an increasing affine function of singscore's normalised score
    (Foroutan 2018), so correlations between samples are the same;
``.obs``
    ESTIMATE (``estimate_stromal``, ``estimate_immune``, ``estimate_score``,
    ``estimate_purity``) and the Wang 2017 call (``subtype_wang2017`` with each subtype's
    score and p-value), NaN/NA with the reason in ``.uns`` when a classifier cannot call;
``.uns["neurosig"]``
    each score's coverage and parameters (``scores``), ``estimate``, ``wang2017`` with the
    agreement with the published subtype on GBM samples.
"""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np

from .. import _keys
from ..errors import InputDataError
from .engine import score
from .tumour import estimate, subtype_agreement, wang2017_subtypes

#: .obsm keys of the two per-sample scorings.
SSGSEA_KEY = _keys.score_key("ssgsea")
UCELL_KEY = _keys.score_key("ucell")


def score_samples(
    adata: ad.AnnData, *, seed: int = 0, n_perm: int = 1000, signatures=None, progress: bool = False
) -> None:
    """Score bulk samples in place (see the module docstring).

    Parameters
    ----------
    adata
        Samples x genes in the bulk schema (:mod:`neurosig.datasets.bulk`).
    seed
        Seed of the subtype permutations.
    n_perm
        Permuted profiles of the Wang 2017 p-values.
    signatures
        Signatures to score (default: the whole library; sets below coverage are refused
        and recorded).
    progress
        Show progress bars.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # refused low-coverage sets are recorded in .uns
        score(adata, signatures, method="ssgsea", key_added=SSGSEA_KEY, seed=seed, progress=progress)
        score(
            adata,
            signatures,
            method="ucell",
            key_added=UCELL_KEY,
            max_rank=int(adata.n_vars),
            seed=seed,
            progress=progress,
        )
    store = _keys.store(adata)
    try:
        estimate(adata)
    except InputDataError as err:
        for c in ("estimate_stromal", "estimate_immune", "estimate_score", "estimate_purity"):
            adata.obs[c] = np.nan
        store["estimate"] = {"not_run": str(err)}
    try:
        wang2017_subtypes(adata, n_perm=n_perm, seed=seed)
        store["wang2017"]["agreement"] = subtype_agreement(adata.obs)
    except InputDataError as err:
        adata.obs["subtype_wang2017"] = None
        adata.obs["subtype_wang2017"] = adata.obs["subtype_wang2017"].astype("string")
        store["wang2017"] = {"not_run": str(err)}
