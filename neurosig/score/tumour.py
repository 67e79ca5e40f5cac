"""Tumour-level scores of bulk samples: ESTIMATE stromal, immune and purity; the Wang 2017 subtype.

Both use the ssGSEA enrichment score of :mod:`neurosig.score.methods.ssgsea` (rank
normalisation, weight 0.25, area under the running sum), the statistic of ESTIMATE
(Yoshihara 2013) and of the Wang 2017 ``.mod`` files.

ESTIMATE: ``ESTIMATEScore = stromal + immune``; purity ``cos(a + b * ESTIMATEScore)`` with
the published constants (checked on ESTIMATE's 995-sample Affymetrix reference). That
formula is for Affymetrix arrays scored over ESTIMATE's 10,412 common genes. Here every
dataset is scored over its own genes (the common-gene list is not available offline), so
the purity is recorded as not calibrated, with the reason, in
``.uns["neurosig"]["estimate"]``, and non-Affymetrix platforms are named there too.

Wang 2017: each gene is first centred on its median across the cohort's samples (with
the raw profile the classifier calls most samples Classical and agrees with the cohorts'
published ``Subtype.ssgsea`` on 34-67 % of GBM samples; centred, on 88-95 %: the
published calls were evidently made on centred data; ``center=None`` skips it). Then,
per sample, the ssGSEA score of each subtype set; its p-value is the share
of ``n_perm`` random profiles (the gene labels permuted, so each set becomes a random set
of the same size, drawn once per permutation for all samples) whose score is at least
the observed one; the call is the subtype with the smallest p-value, ties going to the
first of Proneural, Classical, Mesenchymal (R's ``which.min`` over the authors' columns).
A subtype set with too few of its genes measured gets no call (coverage error).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import _keys
from .._provenance import to_plain
from ..errors import InputDataError
from ..knowledge.tumour import estimate_signatures, tumour_classifiers, wang2017_signatures
from .coverage import check_coverage, coverage
from .methods.ssgsea import es_from_ranks, rank_powers, sample_ranks

#: Smallest share of a classifier set's genes that must be measured.
MIN_COVERAGE = 0.5


def _dense(adata) -> np.ndarray:
    x = adata.X
    return np.asarray(x.toarray() if sp.issparse(x) else x, dtype=np.float64)


def _membership(sigs, var_names: pd.Index, what: str, min_coverage: float):
    covs = [coverage(s, var_names) for s in sigs]
    try:
        ok, _ = check_coverage(covs, min_coverage, 2, strict=True)
    except InputDataError as err:
        raise InputDataError(f"{what}: no call. {err}") from None
    pos = pd.Series(np.arange(len(var_names)), index=var_names)
    idx = [pos[list(c.weights({s.id: s for s in sigs}[c.signature]))].to_numpy() for c in ok]
    return idx, {c.signature: c.record() for c in covs}


def _sets_matrix(index_lists: list[np.ndarray], n_genes: int) -> sp.csc_matrix:
    rows = np.concatenate(index_lists)
    cols = np.concatenate([np.full(len(ix), j) for j, ix in enumerate(index_lists)])
    return sp.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_genes, len(index_lists)))


def estimate(adata, *, platform: str | None = None, min_coverage: float = MIN_COVERAGE) -> pd.DataFrame:
    """ESTIMATE stromal, immune and ESTIMATE scores and tumour purity per sample.

    Parameters
    ----------
    adata
        Samples x genes (bulk schema), log2 expression in ``X``.
    platform
        The expression platform (default: ``.uns["neurosig"]["platform"]``); a platform
        that is not Affymetrix is named in the purity note.
    min_coverage
        Smallest share of each signature's genes measured.

    Returns
    -------
    DataFrame (samples x ``estimate_stromal``, ``estimate_immune``, ``estimate_score``,
    ``estimate_purity``), also written to ``.obs``; the record (coverage, caveat) is in
    ``.uns["neurosig"]["estimate"]``.
    """
    rec = tumour_classifiers()["estimate"]
    platform = platform if platform is not None else str(_keys.record(adata).get("platform", ""))
    idx, cov = _membership(estimate_signatures(), pd.Index(adata.var_names), "ESTIMATE", min_coverage)
    ranks = sample_ranks(_dense(adata))
    es = es_from_ranks(ranks, _sets_matrix(idx, adata.n_vars), float(rec["weight"]))
    out = pd.DataFrame(es, index=adata.obs_names, columns=["estimate_stromal", "estimate_immune"])
    out["estimate_score"] = out["estimate_stromal"] + out["estimate_immune"]
    pur = rec["purity"]
    out["estimate_purity"] = np.cos(pur["a"] + pur["b"] * out["estimate_score"])
    affy = "affymetrix" in platform.lower()
    for c in out:
        adata.obs[c] = out[c].to_numpy()
    notes = [
        f"scored over this dataset's {adata.n_vars:,} genes, not ESTIMATE's 10,412 common genes "
        "(that list is not available offline): scores grow with the genes ranked, so the purity "
        "formula's scale does not hold (values can leave 0-1); use estimate_score as a ranking"
    ]
    if not affy:
        notes.append(f"platform {platform!r} is not Affymetrix: {pur['caveat']}")
    _keys.store(adata)["estimate"] = to_plain(
        {
            "citation": rec["citation"],
            "platform": platform,
            "platform_affymetrix": affy,
            "purity_calibrated": False,
            "purity_note": "; ".join(notes),
            "n_genes_ranked": int(adata.n_vars),
            "coverage": cov,
        }
    )
    return out


def wang2017_subtypes(
    adata,
    *,
    n_perm: int = 1000,
    seed: int = 0,
    center: str | None = "median",
    min_coverage: float = MIN_COVERAGE,
) -> pd.DataFrame:
    """The Wang 2017 GBM subtype call per sample, as the authors make it (module docstring).

    Parameters
    ----------
    adata
        Samples x genes (bulk schema).
    n_perm
        Permuted profiles for the p-values.
    seed
        Seed of the permutations.
    center
        ``"median"``: centre each gene on its median across the samples before ranking
        (see the module docstring); ``None``: rank the profile as given.
    min_coverage
        Smallest share of each subtype set's genes measured; below it, no call.

    Returns
    -------
    DataFrame: ``wang2017_<Subtype>`` scores, ``wang2017_<Subtype>_p`` p-values and
    ``subtype_wang2017`` (the call), also written to ``.obs``; the record is in
    ``.uns["neurosig"]["wang2017"]``.
    """
    rec = tumour_classifiers()["wang2017"]
    sigs = wang2017_signatures()
    names = [s.id for s in sigs]
    weights = {float(v["weight"]) for v in rec["subtypes"].values()}
    if len(weights) != 1:
        raise InputDataError(
            "The Wang 2017 sets disagree on the ssGSEA weight; rebuild tumour_classifiers.yaml."
        )
    weight = weights.pop()
    idx, cov = _membership(sigs, pd.Index(adata.var_names), "Wang 2017 subtypes", min_coverage)
    if len(idx) != len(sigs):
        raise InputDataError(f"Wang 2017 subtypes: no call; a subtype set lacks most of its genes ({cov}).")
    if center not in (None, "median"):
        raise InputDataError(f"center must be 'median' or None, not {center!r}.")
    x = _dense(adata)
    if center == "median":
        x = x - np.median(x, axis=0, keepdims=True)
    ranks = sample_ranks(x)
    powers = rank_powers(ranks, weight)
    observed = es_from_ranks(ranks, _sets_matrix(idx, adata.n_vars), weight, powers)
    rng = np.random.default_rng(seed)
    exceed = np.zeros_like(observed)
    batch = 250
    for start in range(0, n_perm, batch):
        lists = []
        for _ in range(min(batch, n_perm - start)):
            perm = rng.permutation(adata.n_vars)
            lists += [perm[ix] for ix in idx]
        null = es_from_ranks(ranks, _sets_matrix(lists, adata.n_vars), weight, powers)
        null = null.reshape(adata.n_obs, -1, len(idx))
        exceed += (null >= observed[:, None, :]).sum(axis=1)
    pvals = exceed / n_perm
    call = np.asarray(names)[np.argmin(pvals, axis=1)]  # argmin: the first of ties, as which.min
    out = pd.DataFrame(observed, index=adata.obs_names, columns=[f"wang2017_{n}" for n in names])
    for j, n in enumerate(names):
        out[f"wang2017_{n}_p"] = pvals[:, j]
    out["subtype_wang2017"] = call
    for c in out:
        adata.obs[c] = out[c].to_numpy()
    _keys.store(adata)["wang2017"] = to_plain(
        {
            "citation": rec["citation"],
            "n_perm": n_perm,
            "seed": seed,
            "center": center or "none",
            "weight": weight,
            "p_value": "share of permuted profiles scoring at least the observed score",
            "coverage": cov,
        }
    )
    return out


def subtype_agreement(obs: pd.DataFrame, published: str = "subtype", histology: str = "GBM") -> dict:
    """Agreement of ``subtype_wang2017`` with the published call on samples of ``histology``.

    Only samples with a published call among the three Wang subtypes count.
    """
    hist = obs["histology"].astype("string").str.lower()
    gbm = hist.isin([histology.lower(), "glioblastoma"])
    pub = obs[published].astype("string")
    ok = gbm & pub.isin(["Proneural", "Classical", "Mesenchymal"]) & obs["subtype_wang2017"].notna()
    n = int(ok.sum())
    agree = int((pub[ok] == obs.loc[ok, "subtype_wang2017"].astype("string")).sum())
    table = pd.crosstab(pub[ok].rename("published"), obs.loc[ok, "subtype_wang2017"].rename("wang2017"))
    return {
        "n_samples": n,
        "n_agree": agree,
        "agreement": agree / n if n else float("nan"),
        "table": {str(k): {str(c): int(v) for c, v in row.items()} for k, row in table.iterrows()},
    }
