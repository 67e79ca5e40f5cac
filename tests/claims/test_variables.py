"""Claim variables: every gene-set side scored ahead in one batch gives the per-side numbers."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from neurosig.claims import engine
from neurosig.sim import SimParams, simulate_adata
from neurosig.tl import test_claims


@pytest.fixture(scope="module")
def planted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simulate_adata(
            SimParams(n_patients=8, n_cells=2400, n_genes=1000, seed=1, neural_loading=0.6, mhc_effect=-0.5)
        )


def test_prescored_claims_equal_side_by_side_scoring(planted, monkeypatch):
    """One batched pass for all claims gives the evidence of one score() per side, to the last digit.

    Without the batch (prescore a no-op) each side is scored when its level asks, as before;
    the tables (effects, p-values, coverage and control notes) must be identical.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batched = test_claims(planted.copy(), seed=0)
        monkeypatch.setattr(engine, "prescore", lambda *a, **k: None)
        apart = test_claims(planted.copy(), seed=0)
    pd.testing.assert_frame_equal(batched, apart, check_exact=True)
    # per-patient records hold NaN where a field does not apply (NaN != NaN in a dict): as frames
    pd.testing.assert_frame_equal(
        pd.DataFrame(batched.attrs["per_patient"]), pd.DataFrame(apart.attrs["per_patient"]), check_exact=True
    )
    tested = batched[batched["verdict"].ne("not testable")]
    assert len(tested) >= 5 and tested["circularity"].str.contains("controls of y exclude").any()
