"""The simulator: planted truth recovered, determinism, realism, bad parameters."""

from __future__ import annotations

import hashlib

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from neurosig.errors import InputDataError
from neurosig.sim import DEFAULT_COMPOSITION, LREffect, SimParams, simulate, simulate_adata
from neurosig.sim._simulate import cell_table

from ..conftest import needs_mirror


def _poisson_slope(a: ad.AnnData, genes: list[str]) -> tuple[float, float]:
    """Log-fold of a gene set's counts per unit latent z in malignant cells (Poisson GLM, robust SE,
    offset log of the simulated library size, one intercept per patient x state)."""
    m = a[a.obs["cell_type"] == "malignant"]
    y = np.asarray(m[:, genes].layers["counts"].sum(1)).ravel()
    groups = pd.get_dummies(m.obs["patient"].astype(str) + m.obs["malignant_state"].astype(str), dtype=float)
    design = np.column_stack([m.obs["sim_neural_latent"].to_numpy(), groups.to_numpy()])
    fit = sm.GLM(y, design, family=sm.families.Poisson(), offset=np.log(m.obs["sim_library"].to_numpy())).fit(
        cov_type="HC0"
    )
    return float(fit.params[0]), float(fit.bse[0])


@pytest.fixture(scope="module")
def planted():
    return simulate_adata(
        SimParams(
            n_patients=4,
            n_cells=2400,
            n_genes=1000,
            seed=7,
            neural_loading=0.6,
            mhc_effect=-0.5,
            pdl1_effect=0.4,
        )
    )


@pytest.fixture(scope="module")
def null():
    return simulate_adata(SimParams(n_patients=4, n_cells=2400, n_genes=1000, seed=8))


def test_planted_within_patient_effects_have_their_size(planted):
    truth = planted.uns["neurosig"]["simulation"]["truth"]
    for key, size in (("mhc_class_I", -0.5), ("neural_programme", 0.6), ("pd_l1", 0.4)):
        beta, se = _poisson_slope(planted, list(truth[key]))
        assert abs(beta - size) < max(3 * se, 0.05), (key, beta, se)


def test_planted_correlation_has_the_planted_sign_within_each_patient(planted):
    truth = planted.uns["neurosig"]["simulation"]["truth"]
    m = planted[planted.obs["cell_type"] == "malignant"]
    neural = np.asarray(m[:, list(truth["neural_programme"])].X.mean(1)).ravel()
    mhc = np.asarray(m[:, list(truth["mhc_class_I"])].X.mean(1)).ravel()
    for p in m.obs["patient"].unique():
        idx = (m.obs["patient"] == p).to_numpy()
        assert stats.spearmanr(neural[idx], mhc[idx])[0] < 0


def test_no_planted_effect_means_zero(null):
    truth = null.uns["neurosig"]["simulation"]["truth"]
    beta, se = _poisson_slope(null, list(truth["mhc_class_I"]))
    assert abs(beta) < 3 * se + 0.02
    m = null[null.obs["cell_type"] == "malignant"]
    neural = np.asarray(m[:, list(truth["neural_programme"])].X.mean(1)).ravel()
    mhc = np.asarray(m[:, list(truth["mhc_class_I"])].X.mean(1)).ravel()
    masks = [(m.obs["patient"] == p).to_numpy() for p in m.obs["patient"].unique()]
    rhos = [stats.spearmanr(neural[i], mhc[i])[0] for i in masks]
    assert abs(np.mean(rhos)) < 0.1


def _log_ratio_slope(params: SimParams, type_a: str, type_b: str) -> float:
    obs, truth = cell_table(params)
    counts = pd.crosstab(obs["patient"], obs["cell_type"])
    s = pd.Series(truth["patient_neural"]).loc[counts.index]
    y = np.log((counts[type_a] + 0.5) / (counts[type_b] + 0.5))
    return float(stats.linregress(s, y).slope)


def test_composition_follows_the_patient_neural_score():
    effects = {"T_CD8": -1.0, "Treg": 0.6, "MDSC": 0.6}
    params = SimParams(
        n_patients=300, n_cells=300 * 400, seed=3, concentration=200, composition_effects=effects
    )
    assert _log_ratio_slope(params, "T_CD8", "astrocyte") == pytest.approx(-1.0, abs=0.2)
    assert _log_ratio_slope(params, "Treg", "astrocyte") == pytest.approx(0.6, abs=0.2)
    null = SimParams(n_patients=300, n_cells=300 * 400, seed=3, concentration=200)
    assert abs(_log_ratio_slope(null, "T_CD8", "astrocyte")) < 0.15


def test_lr_effect_raises_ligand_in_senders_only():
    base = dict(
        n_patients=2,
        n_cells=1500,
        seed=5,
        composition={**DEFAULT_COMPOSITION, "malignant": 0.45, "neuron": 0.13},
    )
    up = simulate_adata(
        SimParams(**base, lr_effects=(LREffect("BDNF", "NTRK2", "neuron", "malignant", 2.0),))
    )
    off = simulate_adata(SimParams(**base))

    def mean_cp10k(a, t, g):
        m = a[a.obs["cell_type"] == t]
        c = m.layers["counts"]
        return float(
            (np.asarray(c[:, a.var_names.get_loc(g)].todense()).ravel() / np.asarray(c.sum(1)).ravel()).mean()
        )

    assert mean_cp10k(up, "neuron", "BDNF") > 3 * mean_cp10k(off, "neuron", "BDNF")
    assert mean_cp10k(up, "malignant", "NTRK2") > 3 * mean_cp10k(off, "malignant", "NTRK2")
    assert mean_cp10k(up, "astrocyte", "BDNF") < 2 * mean_cp10k(off, "astrocyte", "BDNF") + 1e-6
    assert "BDNF->NTRK2" in up.uns["neurosig"]["simulation"]["truth"]["lr_effects"]


def test_same_seed_same_bytes(tmp_path):
    params = SimParams(n_patients=3, n_cells=300, n_genes=300, seed=11, mhc_effect=-0.3, chunk_size=64)
    paths = [simulate(params, tmp_path / f"{i}.h5ad", progress=False) for i in range(2)]
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert digests[0] == digests[1]
    other = simulate(
        SimParams(n_patients=3, n_cells=300, n_genes=300, seed=12, chunk_size=64),
        tmp_path / "o.h5ad",
        progress=False,
    )
    assert hashlib.sha256(other.read_bytes()).hexdigest() != digests[0]


def test_streamed_file_is_valid_anndata(tmp_path):
    params = SimParams(n_patients=5, n_cells=101, n_genes=200, seed=2, chunk_size=7)
    path = simulate(params, tmp_path / "s.h5ad", progress=False)
    a = ad.read_h5ad(path)
    assert a.shape == (101, 200) and a.layers["counts"].nnz == a.X.nnz
    assert (a.obs["n_genes"].to_numpy() == np.diff(a.layers["counts"].indptr)).all()
    np.testing.assert_allclose(np.expm1(a.X.toarray()).sum(1)[a.obs["total_linear"] > 0], 1e4, rtol=1e-3)
    backed = ad.read_h5ad(path, backed="r")
    assert backed.X[3:10].shape == (7, 200)
    assert set(a.obs["patient"]) == {f"P00{i}" for i in range(1, 6)}
    assert not list(tmp_path.glob(".*part"))


@needs_mirror
def test_neurons_and_astrocytes_resemble_darmanis2015():
    from neurosig.datasets import load

    real = load("darmanis2015_brain")
    comp = {t: 0.0 for t in DEFAULT_COMPOSITION}
    comp.update({"neuron": 0.5, "astrocyte": 0.5})
    sim = simulate_adata(SimParams(n_patients=2, n_cells=600, seed=4, composition=comp, patient_sd=0.1))

    def summary(a, t):
        c = a[a.obs["cell_type"] == t].layers["counts"].tocsr()
        genes = np.diff(c.indptr)
        return {"genes": genes, "zeros": 1 - genes / a.n_vars, "library": np.asarray(c.sum(1)).ravel()}

    for t in ("neuron", "astrocyte"):
        r, s = summary(real, t), summary(sim, t)
        for key in ("genes", "zeros", "library"):
            lo, hi = np.percentile(r[key], [5, 95])
            assert lo <= np.median(s[key]) <= hi, (t, key)
            q25, q75 = np.percentile(s[key], [25, 75])
            assert r[key].min() <= q25 and q75 <= r[key].max(), (t, key)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_cells": -5}, "must be positive"),
        ({"n_patients": 10, "n_cells": 5}, "More patients"),
        ({"composition": {**DEFAULT_COMPOSITION, "malignant": 0.9}}, "sum to"),
        ({"composition": {**DEFAULT_COMPOSITION, "glia_x": 0.0}}, "unknown cell types"),
        ({"composition_effects": {"T_CD9": 1.0}}, "unknown cell type"),
        ({"lr_effects": (LREffect("BDNF", "NTRK2", "neurone", "malignant"),)}, "unknown cell type"),
        ({"state_composition": {"MES": 0.5, "AC": 0.6}}, "sum to"),
        ({"technology": "dropseq"}, "technology"),
        ({"patient_sd": -1.0}, "negative"),
    ],
)
def test_impossible_parameters(kwargs, message):
    with pytest.raises(InputDataError, match=message):
        SimParams(**kwargs)
