"""Neftel 2019 states on MGH136 against the published meta-module scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neurosig.annotate import NEFTEL_STATES, assign_states, state_map, state_scores
from neurosig.datasets import load
from neurosig.tl import neftel_states, score

from ..conftest import needs_mirror

PUBLISHED = {
    "Neftel2019_MES1": "MESlike1",
    "Neftel2019_MES2": "MESlike2",
    "Neftel2019_AC": "AClike",
    "Neftel2019_OPC": "OPClike",
    "Neftel2019_NPC1": "NPClike1",
    "Neftel2019_NPC2": "NPClike2",
    "Neftel2019_G1S": "G1S",
    "Neftel2019_G2M": "G2M",
}


@pytest.fixture(scope="module")
def mgh136():
    return load("neftel2019_mgh136")


def _published(a) -> pd.DataFrame:
    return pd.DataFrame(
        {k: a.obs[f"author_{v}"].astype(float) for k, v in PUBLISHED.items()}, index=a.obs_names
    )


@needs_mirror
@pytest.mark.parametrize("method", ["score_genes", "tirosh"])
def test_module_scores_match_published(mgh136, method):
    """On the authors' scale log2(TPM/10+1): r >= 0.98 per module with both control schemes."""
    df = score(mgh136, list(PUBLISHED), method=method, layer="tpm", transform="log2_tpm10", random_state=0)
    pub = _published(mgh136)
    for sid in PUBLISHED:
        assert np.corrcoef(df[sid], pub[sid])[0, 1] >= 0.98, sid


@needs_mirror
def test_states_agree_with_published_calls(mgh136):
    score(mgh136, list(PUBLISHED), layer="tpm", transform="log2_tpm10", random_state=0, key_added="neftel")
    res = neftel_states(mgh136, key="neftel")
    implied = assign_states(state_scores(_published(mgh136)))
    agreement = (res["state"] == implied).mean()
    assert agreement >= 0.80, agreement
    assert set(mgh136.obs["neftel_state"].astype(str)) <= {"MES", "AC", "OPC", "NPC"}
    assert mgh136.obsm["neftel_state_map"].shape == (229, 2)


def test_state_map_quadrants():
    """OPC upper left, NPC upper right, AC lower left, MES lower right (Neftel Fig. 3)."""
    states = pd.DataFrame(
        {"MES": [0, 0, 0, 2], "AC": [0, 0, 2, 0], "OPC": [2, 0, 0, 0], "NPC": [0, 2, 0, 0]},
        index=["opc", "npc", "ac", "mes"],
        dtype=float,
    )
    xy = state_map(states)
    assert (xy.loc["opc"] < [0, np.inf]).all() and xy.loc["opc", "y"] > 0
    assert xy.loc["npc", "x"] > 0 and xy.loc["npc", "y"] > 0
    assert xy.loc["ac", "x"] < 0 and xy.loc["ac", "y"] < 0
    assert xy.loc["mes", "x"] > 0 and xy.loc["mes", "y"] < 0
    np.testing.assert_allclose(xy.loc["npc", "x"], np.log2(3))
    assert list(assign_states(states)) == ["OPC", "NPC", "AC", "MES"]
    assert set(NEFTEL_STATES) == {"MES", "AC", "OPC", "NPC"}
