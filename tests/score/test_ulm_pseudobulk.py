"""ulm against decoupler; pseudobulk ssGSEA/GSVA against scanpy's aggregation and gseapy."""

from __future__ import annotations

import decoupler as dc
import gseapy
import numpy as np
import pandas as pd
import pytest
import scanpy as sc

from neurosig.datasets import load
from neurosig.errors import InputDataError
from neurosig.knowledge import library
from neurosig.score.pseudobulk import pseudobulk
from neurosig.tl import score, score_pseudobulk

from ..conftest import needs_mirror

IDS = ["APM18_Wang2019", "MHC_I_machinery", "AMPAR_subunits", "HALLMARK_IFNG_RESPONSE", "CP_AMPAR_index"]


def test_ulm_equals_decoupler():
    a = load("tirosh2016_oligodendroglioma_infercnvpy")
    df = score(a, IDS, method="ulm", min_coverage=0.1)
    net = pd.DataFrame(
        [(s, g, w) for s in IDS for g, w in library()[s].weights.items() if g in a.var_names],
        columns=["source", "target", "weight"],
    )
    ref = a.copy()
    dc.mt.ulm(ref, net, tmin=2)
    for sid in IDS:
        np.testing.assert_allclose(df[sid], ref.obsm["score_ulm"][sid], atol=1e-9, err_msg=sid)


@pytest.fixture(scope="module")
def darmanis():
    return load("darmanis2015_brain")


@needs_mirror
def test_pseudobulk_sums_equal_scanpy_aggregate(darmanis):
    expr, n_cells, small = pseudobulk(darmanis, min_cells=1)
    agg = sc.get.aggregate(darmanis, by=["dataset", "patient", "cell_type"], func="sum", layer="counts")
    sums = pd.DataFrame(
        agg.layers["sum"],
        index=agg.obs[["dataset", "patient", "cell_type"]].astype(str).agg("|".join, axis=1),
        columns=agg.var_names,
    )
    ours = (2**expr - 1).T  # CPM
    ref_cpm = sums.div(sums.sum(1), axis=0) * 1e6
    np.testing.assert_allclose(ours.loc[ref_cpm.index].to_numpy(), ref_cpm.to_numpy(), rtol=1e-6, atol=1e-6)
    assert n_cells.sum() == darmanis.n_obs and small.empty


@needs_mirror
@pytest.mark.parametrize("method", ["ssgsea", "gsva"])
def test_pseudobulk_scores_equal_gseapy(darmanis, method):
    sets = ["MHC_I_machinery", "marker_Astrocytes", "marker_Mature_neurons"]
    table = score_pseudobulk(darmanis, sets, method=method, min_size=3, min_cells=10)
    expr, n_cells, small = pseudobulk(darmanis, min_cells=10)
    gs = {s: [g for g in library()[s].genes if g in darmanis.var_names] for s in sets}
    func = gseapy.ssgsea if method == "ssgsea" else gseapy.gsva
    kw = {"sample_norm_method": "rank", "permutation_num": 0} if method == "ssgsea" else {}
    ref = func(data=expr, gene_sets=gs, outdir=None, min_size=3, max_size=5000, seed=0, threads=1, **kw).res2d
    col = "NES" if method == "ssgsea" else "ES"
    ref = ref.assign(score=ref[col].astype(float)).set_index(["Name", "Term"])["score"]
    ours = table.assign(Name=table[["dataset", "patient", "cell_type"]].agg("|".join, axis=1)).set_index(
        ["Name", "signature"]
    )["score"]
    np.testing.assert_allclose(ours.loc[ref.index].to_numpy(), ref.to_numpy(), atol=1e-10)
    # neuron markers score highest in neurons; small groups are listed, not dropped silently
    means = table[table["signature"] == "marker_Mature_neurons"].groupby("cell_type")["score"].mean()
    assert means.idxmax() == "neuron"
    assert darmanis.uns["neurosig"]["pseudobulk"][method]["too_small"]


def test_pseudobulk_needs_linear_values():
    a = load("tirosh2016_oligodendroglioma_infercnvpy")
    del a.layers["tpm"]
    with pytest.raises(InputDataError, match="cannot be summed"):
        score_pseudobulk(a, ["MHC_I_machinery"])
