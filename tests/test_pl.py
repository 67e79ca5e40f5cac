"""Plots: the communication dot plot and axis diagram draw what the table holds."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from neurosig.errors import InputDataError  # noqa: E402
from neurosig.pl import axis_diagram, communication_dotplot  # noqa: E402


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sender": ["neuron", "malignant", "neuron"],
            "receiver": ["malignant", "T_CD8", "neuron"],
            "ligand": ["BDNF", "CD274", "NLGN3"],
            "receptor": ["NTRK2", "PDCD1", "NRXN1"],
            "ligand_complex": ["BDNF", "CD274", "NLGN3"],
            "receptor_complex": ["NTRK2", "PDCD1", "NRXN1"],
            "lr_means": [0.8, 0.3, 0.5],
            "pvalue": [0.001, 0.4, 0.01],
            "qvalue": [0.003, 0.4, 0.02],
            "claim": ["C2;C5", "C6", "C1"],
            "on_axis": [True, True, False],
        }
    )


def test_dotplot_has_one_dot_per_on_axis_row():
    ax = communication_dotplot(_table())
    dots = ax.collections[0]
    assert len(dots.get_offsets()) == 2
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "[C2;C5] BDNF -> NTRK2" in labels and "[C6] CD274 -> PDCD1" in labels
    plt.close(ax.figure)


def test_axis_diagram_draws_arrows_and_lists_missing_claims():
    ax = axis_diagram(_table())
    arrows = [c for c in ax.texts if getattr(c, "arrow_patch", None) is not None]
    assert len(arrows) == 2  # neuron -> malignant, malignant -> T_CD8 (autocrine rows skipped)
    assert "not detected: C1, C3, C4" in ax.get_title()
    plt.close(ax.figure)


def test_plot_without_communication_says_what_to_run():
    import anndata as ad

    with pytest.raises(InputDataError, match="tl.communicate"):
        communication_dotplot(ad.AnnData(pd.DataFrame([[1.0]])))


def test_kaplan_meier_curves_equal_lifelines():
    lifelines = pytest.importorskip("lifelines")
    import numpy as np

    from neurosig.pl import kaplan_meier
    from neurosig.pl.survival import km_curves
    from tests.claims.bulk_inputs import simulated_cohort

    a = simulated_cohort(80, 7, hazard=0.5, key="s")
    t, e = a.obs["os_months"].to_numpy(), a.obs["os_event"].to_numpy()
    x = a.obsm["s"]["neural_interaction_composite"]
    high = (x > x.median()).to_numpy()
    curves = km_curves(t, e, high)
    ref = lifelines.KaplanMeierFitter().fit(t[high], e[high]).survival_function_
    at = ref.loc[curves["high"]["time"].to_numpy()].iloc[:, 0].to_numpy()
    assert np.allclose(curves["high"]["survival"], at)
    ax = kaplan_meier(a, x)
    assert len(ax.get_lines()) == 2 and "log-rank p" in ax.get_title()
    plt.close(ax.figure)
    del a.obs["os_event"]
    with pytest.raises(InputDataError, match="no survival"):
        kaplan_meier(a, x)


def test_verdict_matrix_colours_each_cell_by_its_verdict():
    from matplotlib.colors import to_hex

    from neurosig.pl import verdict_matrix
    from neurosig.pl.verdicts import VERDICT_COLOURS

    ev = pd.DataFrame(
        {
            "claim": ["B1_bulk", "B1_bulk", "S1"],
            "dataset": ["c1", "pooled", "c1"],
            "verdict": ["supported", "inconclusive", "not testable"],
            "effect": [-0.3, -0.1, float("nan")],
            "n_patients": [50, 90, 0],
        }
    )
    ax = verdict_matrix(ev)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["c1", "pooled"]  # pooled last
    faces = [to_hex(p.get_facecolor()) for p in ax.patches]
    assert faces == [
        VERDICT_COLOURS["supported"],
        VERDICT_COLOURS["inconclusive"],
        VERDICT_COLOURS["not testable"],
    ]
    assert "-0.30\nn=50" in [t.get_text() for t in ax.texts]
    plt.close(ax.figure)


def test_state_map_draws_a_seeded_subsample_and_counts_every_cell():
    """Above max_points a seeded subsample is drawn, the title says so, the legend counts all."""
    import anndata as ad
    import numpy as np

    from neurosig.pl import neftel_state_map

    rng = np.random.default_rng(3)
    n = 500
    a = ad.AnnData(obs=pd.DataFrame({"neftel_state": rng.choice(["MES", "AC", "OPC", "NPC", "NA"], n)}))
    a.obs.index = a.obs.index.astype(str)
    a.obsm["neftel_state_map"] = rng.normal(size=(n, 2))
    n_state = int((a.obs["neftel_state"] != "NA").sum())
    every = neftel_state_map(a)
    assert sum(len(c.get_offsets()) for c in every.collections) == n_state and every.get_title() == ""
    sub = neftel_state_map(a, max_points=100, seed=1)
    points = np.vstack([c.get_offsets() for c in sub.collections])
    assert len(points) == 100 and "100 of " + str(n_state) in sub.get_title()
    mes = int((a.obs["neftel_state"] == "MES").sum())
    assert f"MES-like ({mes})" in [t.get_text() for t in sub.get_legend().get_texts()]
    again = np.vstack([c.get_offsets() for c in neftel_state_map(a, max_points=100, seed=1).collections])
    np.testing.assert_array_equal(points, again)
    plt.close("all")
