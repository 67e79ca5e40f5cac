"""The claim-level registry: the engine reads it; the docs' worked example registers and runs."""

from __future__ import annotations

import copy
import re
import types
import warnings
from pathlib import Path

import pytest

from neurosig.claims import LEVELS, load_claims, validate_claims
from neurosig.errors import InputDataError
from neurosig.sim import SimParams, simulate_adata
from neurosig.tl import test_claims

DOCS = Path(__file__).parents[2] / "docs" / "claims.md"


def _docs_example() -> types.ModuleType:
    """The module shown under "Adding a claim level" in docs/claims.md."""
    section = DOCS.read_text().split("## Adding a claim level", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    module = types.ModuleType("patient_pearson")
    exec(compile(code, str(DOCS), "exec"), module.__dict__)  # noqa: S102 - our own docs
    return module


def test_registry_holds_the_levels():
    assert list(LEVELS) == ["cell", "patient", "communication", "tumour", "region", "survival", "paired"]
    for name, level in LEVELS.items():
        assert level.name == name and level.desc and level.func.__doc__
    assert not LEVELS["communication"].variables and LEVELS["communication"].population
    # each level names the data types it applies to
    assert {n for n, lv in LEVELS.items() if "single_cell" in lv.data_types} == {
        "cell",
        "patient",
        "communication",
        "paired",
    }
    assert {n for n, lv in LEVELS.items() if "bulk" in lv.data_types} == {"tumour", "survival"}
    assert LEVELS["region"].data_types == ("multi_region",)


def test_docs_example_registers_and_tests(monkeypatch):
    mod = _docs_example()
    doc = copy.deepcopy(load_claims())
    claim = copy.deepcopy(doc["claims"]["B1"])
    claim["level"] = "patient_pearson"
    claim["y"] = {"signature": "MHC_I_machinery", "population": ["malignant"]}
    doc["claims"] = {"X1": claim}
    with pytest.raises(InputDataError, match="level must be one of"):
        validate_claims(copy.deepcopy(doc))
    monkeypatch.setitem(LEVELS, "patient_pearson", mod.LEVEL)
    validate_claims(doc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata = simulate_adata(SimParams(n_patients=6, n_cells=1200, n_genes=1000, seed=3))
    row = test_claims(adata, doc, inplace=False).iloc[0]
    assert row["level"] == "patient_pearson" and row["effect_type"].startswith("pearson_r")
    assert row["n_patients"] == 6 and -1 <= row["effect"] <= 1
    assert row["verdict"] in {"supported", "contradicted", "negligible", "inconclusive"}
    assert "x: " in row["coverage"]


def test_unknown_level_is_refused():
    doc = copy.deepcopy(load_claims())
    doc["claims"] = {"X1": {**doc["claims"]["B1"], "level": "nowhere"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata = simulate_adata(SimParams(n_patients=3, n_cells=300, n_genes=500, seed=4))
    with pytest.raises(InputDataError, match="Unknown claim level"):
        test_claims(adata, doc, inplace=False)
