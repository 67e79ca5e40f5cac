"""``neurosig.knowledge`` is the one room for the loaders of ``signatures/``."""

from __future__ import annotations

import neurosig as ns
from neurosig import claims
from neurosig.knowledge import library, load_axis, load_claims, patient_score_spec, vocabulary


def test_the_stages_read_the_same_knowledge():
    # the claims stage checks levels against its live registry, on the same document
    assert claims.load_claims() == load_claims()
    assert ns.knowledge.vocabulary is vocabulary


def test_every_file_loads_and_agrees():
    terms = set(vocabulary())
    for claim in load_axis()["claims"].values():
        assert set(claim["senders"]) | set(claim["receivers"]) <= terms
    assert load_claims()["claims"]
    assert library()
    for comp in patient_score_spec()["compartments"].values():
        assert set(comp["cell_types"]) <= terms


def test_bulk_variable_kinds_are_checked():
    import copy

    import pytest

    from neurosig.claims import load_claims, validate_claims
    from neurosig.errors import InputDataError

    doc = copy.deepcopy(load_claims())
    assert doc["claims"]["B1_region_P5"]["x"] == {"obs": "dist_periphery"}
    bad = copy.deepcopy(doc)
    bad["claims"]["S1"]["y"] = {"survival": "progression"}
    with pytest.raises(InputDataError, match="survival must be 'overall'"):
        validate_claims(bad)
    bad = copy.deepcopy(doc)
    bad["claims"]["A1"]["y"] = {"obs": "purity"}
    with pytest.raises(InputDataError, match="one row per sample"):
        validate_claims(bad)
