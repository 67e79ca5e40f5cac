"""ESTIMATE and the Wang 2017 subtype call on real cohorts, checked on published values."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from neurosig.datasets import load
from neurosig.errors import InputDataError
from neurosig.knowledge.tumour import tumour_classifiers
from neurosig.score.tumour import estimate, subtype_agreement, wang2017_subtypes

from ..conftest import MIRROR, needs_mirror

REFERENCE = MIRROR.parent / "reference" / "bulk"


@pytest.fixture(scope="module")
def donson(offline_session):
    from ..conftest import HAS_MIRROR

    if not HAS_MIRROR:
        pytest.skip("offline mirror not found")
    return load("gliovis_donson2012", progress=False)


def test_purity_formula_reproduces_estimate_reference():
    """cos(a + b * ESTIMATEScore) equals the 'fit' column of ESTIMATE's 995 Affymetrix samples."""
    if not (REFERENCE / "PurityDataAffy.RData").is_file():
        pytest.skip("reference/bulk not found beside the mirror")
    import rdata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = rdata.conversion.convert(rdata.parser.parse_file(REFERENCE / "PurityDataAffy.RData"))
    ref = ref["PurityDataAffy"]
    pur = tumour_classifiers()["estimate"]["purity"]
    fit = np.cos(pur["a"] + pur["b"] * ref["ESTIMATEScore"].to_numpy())
    np.testing.assert_allclose(fit, ref["fit"].to_numpy(), atol=1e-6)
    np.testing.assert_allclose(ref["StromalScore"] + ref["ImmuneScore"], ref["ESTIMATEScore"], atol=1e-6)


@needs_mirror
def test_estimate_scores_are_gseapy_ssgsea(donson):
    import gseapy

    a = donson.copy()
    a.X = np.asarray(a.X, dtype=np.float64) + np.random.default_rng(0).uniform(0, 1e-6, a.shape)
    a.uns["neurosig"]["platform"] = "Affymetrix HG-U133 Plus 2.0 microarray"
    ours = estimate(a)
    cov = a.uns["neurosig"]["estimate"]["coverage"]  # the genes measured (outdated symbols renamed)
    sigs = {k: [g for g in tumour_classifiers()["estimate"]["signatures"][k] if g in a.var_names]
            + list(cov[f"ESTIMATE_{k}"]["rescued"].values()) for k in ("stromal", "immune")}  # fmt: skip
    data = pd.DataFrame(np.asarray(a.X).T, index=a.var_names, columns=a.obs_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = gseapy.ssgsea(data=data, gene_sets=sigs, outdir=None, sample_norm_method="rank", weight=0.25,
                            min_size=1, max_size=5000, permutation_num=0, seed=0)  # fmt: skip
    ref = res.res2d.pivot(index="Name", columns="Term", values="ES").astype(float).loc[a.obs_names]
    np.testing.assert_allclose(ours["estimate_stromal"], ref["stromal"], rtol=1e-10)
    np.testing.assert_allclose(ours["estimate_immune"], ref["immune"], rtol=1e-10)
    note = a.uns["neurosig"]["estimate"]
    assert note["platform_affymetrix"] is True and note["purity_calibrated"] is False
    assert "10,412 common genes" in note["purity_note"] and "not Affymetrix" not in note["purity_note"]
    assert {"estimate_purity", "estimate_score"} <= set(a.obs)


@needs_mirror
def test_purity_flagged_on_other_platforms(donson):
    a = donson.copy()
    a.uns["neurosig"]["platform"] = "RNA-seq (bulk, per sample)"
    estimate(a)
    note = a.uns["neurosig"]["estimate"]
    assert note["platform_affymetrix"] is False and "not Affymetrix" in note["purity_note"]


@needs_mirror
def test_wang2017_reproduces_published_calls(donson):
    """Donson's GBM samples: 20 of 21 published Subtype.ssgsea calls reproduced."""
    a = donson.copy()
    out = wang2017_subtypes(a, n_perm=200, seed=0)
    assert set(out["subtype_wang2017"]) <= {"Proneural", "Classical", "Mesenchymal"}
    agree = subtype_agreement(a.obs)
    assert agree["n_samples"] == 21 and agree["n_agree"] >= 19
    p = out.filter(like="_p").to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    rec = a.uns["neurosig"]["wang2017"]
    assert rec["n_perm"] == 200 and rec["center"] == "median"
    # outdated 2015 symbols are rescued by alias (HN1 -> JPT1) and recorded
    assert rec["coverage"]["Proneural"]["n_rescued"] > 0


@needs_mirror
def test_wang2017_same_seed_same_call(donson):
    a, b = donson.copy(), donson.copy()
    pd.testing.assert_frame_equal(
        wang2017_subtypes(a, n_perm=50, seed=3), wang2017_subtypes(b, n_perm=50, seed=3)
    )


@needs_mirror
def test_subtype_set_mostly_missing_gives_no_call(donson):
    genes = set(tumour_classifiers()["wang2017"]["subtypes"]["Mesenchymal"]["genes"])
    keep = [g for g in donson.var_names if g not in genes]
    with pytest.raises(InputDataError, match="Wang 2017 subtypes: no call.*Mesenchymal"):
        wang2017_subtypes(donson[:, keep].copy(), n_perm=10)
