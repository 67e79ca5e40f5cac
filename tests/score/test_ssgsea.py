"""ssGSEA scoring method against gseapy's own ssgsea, on a real GlioVis cohort."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from neurosig.datasets import load
from neurosig.tl import score

from ..conftest import needs_mirror


@pytest.fixture(scope="module")
def donson(offline_session):
    from ..conftest import HAS_MIRROR

    if not HAS_MIRROR:
        pytest.skip("offline mirror not found")
    return load("gliovis_donson2012", progress=False)


def _gseapy_es(adata, sets: dict[str, list[str]]) -> pd.DataFrame:
    import gseapy

    data = pd.DataFrame(np.asarray(adata.X, dtype=float).T, index=adata.var_names, columns=adata.obs_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = gseapy.ssgsea(
            data=data, gene_sets=sets, outdir=None, sample_norm_method="rank", weight=0.25,
            min_size=1, max_size=5000, permutation_num=0, seed=0, threads=1,
        )  # fmt: skip
    es = res.res2d.pivot(index="Name", columns="Term", values="ES").astype(float)
    return es.loc[adata.obs_names, list(sets)]


@needs_mirror
def test_equals_gseapy_without_ties(donson):
    """Where no two genes tie, the closed-form area equals gseapy's ES to machine precision."""
    a = donson.copy()
    a.X = np.asarray(a.X, dtype=np.float64) + np.random.default_rng(0).uniform(0, 1e-6, a.shape)
    sigs = {"MHC_I": ["HLA-A", "HLA-B", "HLA-C", "B2M", "TAP1", "TAP2"], "AMPAR": ["GRIA1", "GRIA2", "GRIA3"]}
    ours = score(a, sigs, method="ssgsea")
    ref = _gseapy_es(a, sigs)
    np.testing.assert_allclose(ours.to_numpy(), ref.to_numpy(), rtol=1e-10)


@needs_mirror
def test_close_to_gseapy_on_published_values(donson):
    """On the published 4-decimal values genes tie; gseapy walks ties in its sort order (< 0.3 %)."""
    lib = score(donson, ["MHC_I_machinery", "CYT_Rooney2015"], method="ssgsea")
    from neurosig.knowledge import library

    sets = {s: [g for g in library()[s].genes if g in donson.var_names] for s in lib.columns}
    ref = _gseapy_es(donson, sets)
    np.testing.assert_allclose(lib.to_numpy(), ref.to_numpy(), rtol=3e-3)
    record = donson.uns["neurosig"]["scores"]["neurosig_ssgsea"]
    assert record["method"] == "ssgsea" and record["coverage"]["MHC_I_machinery"]["fraction"] > 0.5


def test_signed_set_is_up_minus_down():
    from neurosig.score.methods.ssgsea import es_from_ranks, score_chunk

    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 50))
    import scipy.sparse as sp

    up = sp.csc_matrix(np.eye(50)[:, :5].sum(1, keepdims=True))
    down = sp.csc_matrix(np.eye(50)[:, 5:9].sum(1, keepdims=True))
    from scipy.stats import rankdata

    r = rankdata(x, axis=1)
    np.testing.assert_allclose(score_chunk(x, up, down), es_from_ranks(r, up) - es_from_ranks(r, down))
