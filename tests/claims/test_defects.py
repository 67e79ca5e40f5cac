"""One test per verdict-changing defect of the claims engine (issue 13); each failed before the fix."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import stats as sps

from neurosig.claims import MIN_EFFECT, pool_evidence, stats, verdict
from neurosig.communicate.by_sample import axis_strengths
from neurosig.errors import InputDataError
from neurosig.knowledge import on_axis_of
from neurosig.sim import SimParams, simulate_adata
from neurosig.tl import test_claims

from ..conftest import needs_mirror


def _composition(sizes, neuron_frac, cd8, seed=0) -> ad.AnnData:
    """Patients of the given sizes with a set neuron fraction and CD8 counts (no genes needed)."""
    rng = np.random.default_rng(seed)
    types, patients = [], []
    for i, (n, f, k) in enumerate(zip(sizes, neuron_frac, cd8, strict=True)):
        n_neuron = int(round(n * f))
        t = ["neuron"] * n_neuron + ["T_CD8"] * k + ["malignant"] * (n - n_neuron - k)
        types += list(rng.permutation(t))
        patients += [f"P{i}"] * n
    obs = pd.DataFrame({"cell_type": types, "patient": patients}, index=[f"c{i}" for i in range(len(types))])
    return ad.AnnData(sp.csr_matrix((len(obs), 3), dtype=np.float32), obs=obs)


def test_a_fraction_as_x_is_a_fraction_and_a_constant_one_is_not_testable():
    """Neuron fraction fixed at 10% in patients of 50-1,600 cells: counts used to track size."""
    sizes = [50, 100, 200, 400, 800, 1600, 300, 600]
    cd8 = [int(s * f) for s, f in zip(sizes, [0.02, 0.05, 0.01, 0.08, 0.03, 0.06, 0.04, 0.02], strict=True)]
    a = _composition(sizes, [0.1] * 8, cd8)
    ev = test_claims(a, only=["B1_P3"], inplace=False).iloc[0]
    assert ev["verdict"] == "not testable" and "constant" in ev["reason"]
    # varying fractions: x enters as the fraction (the GLM's slope equals one fit on fractions)
    fracs = [0.02, 0.15, 0.05, 0.3, 0.1, 0.01, 0.2, 0.08]
    b = _composition(sizes, fracs, cd8)
    ev = test_claims(b, only=["B1_P3"], inplace=False).iloc[0]
    x = np.array([round(s * f) / s for s, f in zip(sizes, fracs, strict=True)])
    beta, *_ = stats.quasibinomial(np.array(cd8, float), np.array(sizes, float), x)
    assert ev["effect"] == pytest.approx(beta)
    assert ev["n_cells"] == sum(sizes)


@pytest.mark.parametrize("n", [5, 6, 8, 12])
def test_patient_level_spearman_is_calibrated_at_small_n(n):
    """scipy's t approximation rejected 8.3% of true nulls at n = 5; the permutation null does not."""
    rng = np.random.default_rng(n)
    reps = 1500
    rejected = agree = 0
    for i in range(reps):
        r = stats.spearman_test(rng.normal(size=n), rng.normal(size=n), seed=i)
        rejected += r.pvalue < 0.05
        agree += (r.pvalue < 0.05) == (r.ci_low > 0 or r.ci_high < 0)
    assert rejected / reps <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / reps)
    assert agree == reps  # the interval excludes 0 exactly when p < 0.05


def test_exact_spearman_equals_enumerating_scipy_spearman_with_ties():
    """All 720 orderings of y, each through scipy's spearmanr (ties get average ranks)."""
    import itertools

    x = np.array([1, 2, 2, 3, 4, 5.0])
    y = np.array([3, 1, 4, 1, 5, 9.0])
    ours = stats.spearman_test(x, y)
    observed = sps.spearmanr(x, y).statistic
    null = np.array([sps.spearmanr(x, y[list(p)]).statistic for p in itertools.permutations(range(6))])
    assert ours.rho == pytest.approx(observed)
    assert ours.pvalue == pytest.approx(np.mean(np.abs(null) >= abs(observed) - 1e-12))
    assert ours.method.startswith("exact")


def _communication_adata(sig_p: dict[str, float], groups: dict[str, dict[str, int]], pooled_p: float = 1.0):
    """An AnnData whose .uns holds per-patient CellPhoneDB tables for C6 (malignant -> T_CD8 PD-L1)."""
    rows = []
    for patient, p in sig_p.items():
        rows.append(
            {
                "sample": patient,
                "sender": "malignant",
                "receiver": "T_CD8",
                "ligand_complex": "CD274",
                "receptor_complex": "PDCD1",
                "lr_means": 0.5,
                "pvalue": p,
                "claim": "C6",
                "sender_proxy": "",
            }
        )
    per = pd.DataFrame(rows)
    pooled = per.drop(columns="sample").iloc[:1].assign(pvalue=pooled_p)
    obs = pd.DataFrame(
        {
            "patient": [p for p, g in groups.items() for _ in range(sum(g.values()))],
            "cell_type": [t for g in groups.values() for t, n in g.items() for _ in range(n)],
        }
    )
    obs.index = obs.index.astype(str)
    a = ad.AnnData(sp.csr_matrix((len(obs), 2), dtype=np.float32), obs=obs)
    a.uns["neurosig"] = {
        "communication": {
            "table": pooled,
            "by_sample": per,
            "groups_by_sample": groups,
            "parameters": {"min_cells": 5},
        }
    }
    return a


def test_communication_claims_count_patients_not_pooled_cells():
    both = {"malignant": 50, "T_CD8": 10}
    groups = {f"P{i}": dict(both) for i in range(6)}
    # pooled over all cells the pair is "significant" (p 0.001), but in no patient
    a = _communication_adata({f"P{i}": 0.4 for i in range(6)}, groups, pooled_p=0.001)
    ev = test_claims(a, only=["C6"], inplace=False).iloc[0]
    assert ev["verdict"] == "inconclusive" and ev["effect"] == 0 and ev["n_patients"] == 6
    # significant within 5 of 6 patients: binomial test against alpha
    b = _communication_adata({**{f"P{i}": 1 / 1001 for i in range(5)}, "P5": 0.4}, groups)
    ev = test_claims(b, only=["C6"], inplace=False).iloc[0]
    assert ev["verdict"] == "supported" and ev["effect"] == pytest.approx(5 / 6)
    assert ev["pvalue"] == pytest.approx(sps.binomtest(5, 6, 0.05, alternative="greater").pvalue)
    assert ev["pvalue"] > 0
    # too few patients with both senders and receivers
    few = {**{f"P{i}": {"malignant": 50} for i in range(4)}, "P4": dict(both), "P5": dict(both)}
    c = _communication_adata({"P4": 0.001, "P5": 0.001}, few)
    ev = test_claims(c, only=["C6"], inplace=False).iloc[0]
    assert ev["verdict"] == "not testable" and "2 patient(s) with both" in ev["reason"]
    assert "4 patient(s) without" in ev["reason"]


def test_communication_without_shuffles_is_not_testable():
    groups = {f"P{i}": {"malignant": 50, "T_CD8": 10} for i in range(4)}
    a = _communication_adata({f"P{i}": np.nan for i in range(4)}, groups)
    a.uns["neurosig"]["communication"]["parameters"]["n_perms"] = 0
    ev = test_claims(a, only=["C6"], inplace=False).iloc[0]
    assert ev["verdict"] == "not testable" and "without shuffles" in ev["reason"]


def test_pooled_rows_keep_the_datasets_smallest_effect_of_interest():
    groups = {f"P{i}": {"malignant": 50, "T_CD8": 10} for i in range(6)}
    a = _communication_adata(
        {**{f"P{i}": 1 / 1001 for i in range(2)}, **{f"P{i}": 0.5 for i in range(2, 6)}}, groups
    )
    # 2 of 6 patients (0.33): supported with the default 0.25, negligible when the file asks 0.5
    ev = test_claims(a, only=["C6"], inplace=False, min_effect={"fraction_of_patients": 0.5})
    assert ev.iloc[0]["verdict"] == "negligible" and ev.iloc[0]["min_effect"] == 0.5
    assert "min_effect 0.5" in ev.iloc[0]["reason"]
    pooled = pool_evidence([ev])
    assert pooled.loc[pooled["dataset"] == "pooled", "verdict"].iloc[0] == "negligible"
    assert test_claims(a, only=["C6"], inplace=False).iloc[0]["verdict"] == "supported"


def test_simes_lets_many_pairs_pass_where_bonferroni_cannot():
    p_min = 1 / 1001
    assert stats.simes(np.full(80, p_min)) == pytest.approx(p_min)
    assert 80 * p_min > 0.05  # Bonferroni over 80 pairs could never reach 0.05 with 1,000 shuffles
    assert stats.simes(np.array([p_min] + [0.9] * 79)) == pytest.approx(80 * p_min)


def test_absent_receivers_are_missing_not_zero():
    per = pd.DataFrame(
        {
            "sample": ["P1", "P2"],
            "sender": ["malignant", "malignant"],
            "receiver": ["T_CD8", "myeloid"],
            "ligand_complex": ["CD274", "CSF1"],
            "receptor_complex": ["PDCD1", "CSF1R"],
            "lr_means": [0.7, 0.9],
            "claim": ["C6", ""],
        }
    )
    groups = {
        "P1": {"malignant": 40, "T_CD8": 8},
        "P2": {"malignant": 40, "myeloid": 9},  # no T cells: C6 cannot be measured
        "P3": {"malignant": 40, "T_CD8": 6, "myeloid": 7},  # both there, the pair not expressed
    }
    per3 = pd.concat([per, per.iloc[[1]].assign(sample="P3")], ignore_index=True)  # P3 has rows, none on C6
    s = axis_strengths(per3, ["C6"], groups=groups)["C6"]
    assert s["P1"] == pytest.approx(0.7) and np.isnan(s["P2"]) and s["P3"] == 0.0
    # a patient tested with both sides but no expressed row at all is 0 too
    s = axis_strengths(per, ["C6"], groups=groups)["C6"]
    assert s["P3"] == 0.0


@needs_mirror
def test_claims_test_what_they_say_c5_and_c3():
    from neurosig.communicate.resources import load_resource

    res = load_resource("cellphonedb_v5")
    pge2 = res[res["ligand_complex"].str.startswith("ProstaglandinE2_by")]
    c5 = pge2["claim"].str.contains("C5")
    assert set(pge2.loc[c5, "ligand_complex"]) == {"ProstaglandinE2_byPTGES"}
    rows = res.assign(sender="malignant", receiver="myeloid")
    assert not on_axis_of(rows, "C5").any()  # C5's senders are neurons only
    glu = res[res["claim"].str.contains("C3")].assign(sender="neuron", receiver="malignant")
    on = on_axis_of(glu, "C3")
    assert set(glu.loc[on, "sender_proxy"]) == {"vesicular"}
    uptake = on_axis_of(glu, "C3", sender_proxies=["plasma_membrane"])
    assert uptake.any() and not (on & uptake).any()


def test_control_genes_exclude_the_other_side():
    """scanpy-style controls of x could hold y's genes (B2M among OPC controls on Tirosh)."""
    from neurosig.score.methods import score_genes

    rng = np.random.default_rng(0)
    genes = pd.Index([f"G{i}" for i in range(400)])
    st = {"mean": rng.gamma(1.0, 1.0, 400)}
    sig = [{"G1": 1.0, "G2": 1.0, "G3": 1.0}]
    other = [f"G{i}" for i in range(10, 400, 2)]
    w, _, det = score_genes.weights(sig, genes, st, ctrl_size=50, exclude_from_controls=other)
    assert not (w[genes.get_indexer(other), 0] != 0).any()
    assert set(det[0]["control_genes"]).isdisjoint(other)
    w0, _, _ = score_genes.weights(sig, genes, st, ctrl_size=50)
    assert (w0[genes.get_indexer(other), 0] != 0).any()  # without exclusion they are drawn


def test_engine_records_disjoint_control_pools():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = simulate_adata(SimParams(n_patients=4, n_cells=800, n_genes=1000, seed=3))
    ev = test_claims(a, only=["A1"], inplace=False).iloc[0]
    assert "controls of x exclude y's genes" in ev["circularity"]
    assert "controls of y exclude x's genes and controls" in ev["circularity"]


def test_overlapping_datasets_are_refused_when_pooling():
    t = pd.DataFrame(
        {"dataset": ["tirosh2016_oligodendroglioma"], "claim": ["A1"], "verdict": ["inconclusive"]}
    )
    copy_ = t.assign(dataset="tirosh2016_oligodendroglioma_infercnvpy")
    with pytest.raises(InputDataError, match="share cells"):
        pool_evidence([t, copy_])
    with pytest.raises(InputDataError, match="more than once"):
        pool_evidence([t, t.copy()])


def test_a_significant_but_trivial_effect_is_negligible():
    base = {"expected": "negative", "effect_type": "spearman_rho (pooled within-patient)"}
    tiny = {**base, "effect": -0.03, "ci_low": -0.04, "ci_high": -0.02, "qvalue": 1e-12}
    assert verdict(tiny, 0.05) == "negligible"
    big = {**base, "effect": -0.3, "ci_low": -0.4, "ci_high": -0.2, "qvalue": 1e-6}
    assert verdict(big, 0.05) == "supported"
    assert verdict({**big, "effect": 0.3, "ci_low": 0.2, "ci_high": 0.4}, 0.05) == "contradicted"
    wide = {**base, "effect": -0.05, "ci_low": -0.5, "ci_high": 0.4, "qvalue": 0.6}
    assert verdict(wide, 0.05) == "inconclusive"
    assert MIN_EFFECT["spearman_rho"] == 0.1 and MIN_EFFECT["log_odds_per_sd"] == 0.2


def test_null_atlas_gives_no_cell_level_verdict():
    """No planted effect, one malignant state, 24 patients: no supported/contradicted cell-level claim."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = simulate_adata(
            SimParams(
                n_patients=24,
                n_cells=12000,
                seed=11,
                technology="tenx",
                state_composition={"MES": 1.0, "AC": 0.0, "OPC": 0.0, "NPC": 0.0},
            )
        )
    ev = test_claims(a, inplace=False)
    cell = ev[ev["level"] == "cell"]
    shown = cell[["claim", "effect", "effect_unadjusted", "pvalue", "verdict"]]
    assert not cell["verdict"].isin(["supported", "contradicted"]).any(), shown
    assert not (cell["qvalue"] < 0.05).any(), shown  # not hidden as "negligible" either
    assert (
        cell["adjusted_for"].fillna("").str.contains("n_genes") | cell["verdict"].eq("not testable")
    ).all()


def test_state_covariate_reports_raw_and_adjusted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = simulate_adata(SimParams(n_patients=4, n_cells=1600, n_genes=1000, seed=5))
    mal = (a.obs["cell_type"] == "malignant").to_numpy()
    # as neftel_states writes it: NA outside malignant cells (a level absent from the population)
    a.obs["neftel_state"] = np.where(~mal, "NA", np.where(np.arange(a.n_obs) % 2, "MES", "NPC"))
    ev = test_claims(a, only=["A1"], inplace=False, state_covariate="neftel_state").iloc[0]
    assert ev["adjusted_for"] == "n_genes, neftel_state"
    assert np.isfinite(ev["effect_unadjusted"]) and ev["effect"] != ev["effect_unadjusted"]
    assert np.isfinite(ev["ols_slope"]) and np.isfinite(ev["lmm_slope"])  # cross-checks survive dummies
    # a state constant in the population adjusts nothing and is not listed
    a.obs["neftel_state"] = np.where(~mal, "NA", "MES")
    ev = test_claims(a, only=["A1"], inplace=False, state_covariate="neftel_state").iloc[0]
    assert ev["adjusted_for"] == "n_genes"


def test_alias_rescue_and_coverage_are_recorded():
    """A claim naming an outdated symbol (PDCD1L1) finds CD274 as tl.score does, and says so."""
    from neurosig.claims import load_claims

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = simulate_adata(SimParams(n_patients=4, n_cells=800, n_genes=1000, seed=3))
    doc = load_claims()
    doc["claims"] = {
        "A2_alias": {**doc["claims"]["A2"], "y": {"gene": "PDCD1L1"}},
        "A1": doc["claims"]["A1"],
    }
    ev = test_claims(a, doc, inplace=False).set_index("claim")
    assert ev.loc["A2_alias", "verdict"] != "not testable"
    assert "y: PDCD1L1 as CD274 (alias)" in ev.loc["A2_alias", "coverage"]
    assert ev.loc["A1", "coverage"].startswith("x: ") and "genes" in ev.loc["A1", "coverage"]


def test_score_genes_refuses_weights_it_cannot_use():
    from neurosig.score.methods import score_genes

    genes = pd.Index([f"G{i}" for i in range(100)])
    with pytest.raises(InputDataError, match="weights"):
        score_genes.weights([{"G1": 2.0, "G2": 1.0}], genes, {"mean": np.arange(100.0)})


def test_hartung_knapp_with_identical_estimates_is_not_p_zero():
    v = np.array([0.01, 0.02, 0.01])
    res = stats.random_effects(np.array([0.2, 0.2, 0.2]), v)
    assert 0 < res.pvalue < 1 and res.ci_low < 0.2 < res.ci_high
    # the fallback is the DerSimonian-Laird standard error, with the HK t reference
    dl = stats.random_effects(np.array([0.2, 0.2, 0.2]), v, hartung_knapp=False)
    se_dl = (dl.ci_high - dl.ci_low) / (2 * sps.norm.ppf(0.975))
    assert res.ci_high - res.ci_low == pytest.approx(2 * sps.t.ppf(0.975, 2) * se_dl)


def test_signature_notes_point_at_no_local_path():
    from neurosig._resources import signatures_dir

    for path in signatures_dir().glob("*.yaml"):
        text = path.read_text()
        assert "/tmp/" not in text, path.name


def test_untested_candidate_pairs_count_in_the_patient_test():
    """Only rows passing the detection filter are in the table, and that filter uses the same
    labels: Simes over them alone rejected 17% of true nulls per patient (C8, labels shuffled);
    every candidate pair counts, the untested ones at p = 1."""
    from neurosig.claims.levels.communication import _patient_axis_calls

    per = pd.DataFrame(
        {
            "sample": ["P1"],
            "sender": ["malignant"],
            "receiver": ["T_CD8"],
            "ligand_complex": ["CD274"],
            "receptor_complex": ["PDCD1"],
            "pvalue": [0.01],
            "claim": ["C6"],
            "sender_proxy": [""],
        }
    )
    groups = {"P1": {"malignant": 30, "T_CD8": 10, "T_CD4": 10}}
    alone, _ = _patient_axis_calls(per, groups, "C6", 0.05)
    assert alone[0]["significant"] and alone[0]["pvalue"] == pytest.approx(0.01)
    # 3 candidate interactions x 1 sender x 2 receivers = 6 rows: Simes 6 x 0.01
    counted, _ = _patient_axis_calls(per, groups, "C6", 0.05, n_candidates=3)
    assert counted[0]["pvalue"] == pytest.approx(0.06) and not counted[0]["significant"]


@needs_mirror
def test_candidate_pairs_come_from_the_resource_and_the_data_genes():
    from neurosig.claims.levels.communication import _candidate_pairs

    genes = pd.Index(["CD274", "PDCD1", "ACTB"])
    assert _candidate_pairs("cellphonedb_v5", genes, "C6") == 1
    assert _candidate_pairs("cellphonedb_v5", pd.Index(["CD274"]), "C6") == 0
    assert _candidate_pairs("user table", genes, "C6") is None
