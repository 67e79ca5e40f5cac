"""score_summary groups the scores wide and equals pandas' long-format groupby to the last digit."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def scored():
    """Cells of 2 datasets x 4 patients x 5 types, 7 signatures; one is NaN outside malignant cells."""
    rng = np.random.default_rng(0)
    n = 2000
    obs = pd.DataFrame(
        {
            "dataset": pd.Categorical(rng.choice(["d1", "d2"], n)),
            "patient": rng.choice(["P1", "P10", "P2", "P3"], n),
            "cell_type": pd.Categorical(rng.choice(["malignant", "T_CD8", "macrophage", "neuron", "B"], n)),
        },
        index=[f"c{i}" for i in range(n)],
    )
    names = ["sig_b", "Sig_A", "sig_a", "MES1", "AC", "z", "NPC2"]
    scores = pd.DataFrame(rng.normal(size=(n, len(names))), index=obs.index, columns=names)
    scores.loc[obs["cell_type"] != "malignant", "MES1"] = np.nan
    adata = ad.AnnData(obs=obs)
    adata.obsm["neurosig_score_genes"] = scores
    return adata


def _long_format(adata, key, groupby=("dataset", "patient", "cell_type"), keep=None):
    """The reference: one row per cell and signature, grouped by pandas."""
    scores = pd.DataFrame(adata.obsm[key], index=adata.obs_names)
    obs = adata.obs[list(groupby)].astype(str)
    if keep is not None:
        scores, obs = scores[keep], obs[keep]
    long = scores.join(obs).melt(id_vars=list(groupby), var_name="signature", value_name="score")
    out = long.groupby([*groupby, "signature"], observed=True)["score"].agg(
        n_cells="size", mean="mean", median="median"
    )
    return out.reset_index()


def test_score_summary_equals_the_long_format_groupby(scored):
    from neurosig.tl import score_summary

    table = score_summary(scored)
    reference = _long_format(scored, "neurosig_score_genes")
    pd.testing.assert_frame_equal(table, reference, check_exact=True)
    assert table["mean"].isna().sum() == 2 * 4 * 4  # MES1 outside malignant cells: NaN, not dropped
    types = ["malignant", "T_CD8"]
    keep = scored.obs["cell_type"].isin(types).to_numpy()
    pd.testing.assert_frame_equal(
        score_summary(scored, cell_types=types),
        _long_format(scored, "neurosig_score_genes", keep=keep),
        check_exact=True,
    )
    by_patient = score_summary(scored, groupby=["patient"])
    pd.testing.assert_frame_equal(
        by_patient, _long_format(scored, "neurosig_score_genes", groupby=["patient"]), check_exact=True
    )
