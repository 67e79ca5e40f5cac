"""The example notebook runs end to end on the default dataset (executed here so it cannot rot)."""

from __future__ import annotations

import importlib.util
import re

import pytest

from .conftest import REPO

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = REPO / "notebooks" / "signature_correlations.ipynb"


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebook", REPO / "scripts" / "build_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_notebook_matches_its_script():
    committed = nbformat.read(NOTEBOOK, as_version=4)
    built = _builder().build(NOTEBOOK)
    assert [c.source for c in committed.cells] == [c.source for c in built.cells]
    assert all(c.outputs for c in committed.cells if c.cell_type == "code")  # committed executed


def test_notebook_executes(tmp_path):
    builder = _builder()
    nb = builder.execute(nbformat.read(NOTEBOOK, as_version=4), tmp_path)  # raises on any cell error
    text = "\n".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    figures = sum(
        "image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert figures == 2  # correlation heatmap, Neftel state map
    rhos = [float(v) for v in re.findall(r"rho = ([+-][0-9.]+)", text)]
    averaged = float(re.search(r"averaged \(Fisher z\): ([+-][0-9.]+)", text).group(1))
    assert len(rhos) >= 3 and min(rhos) <= averaged <= max(rhos)
