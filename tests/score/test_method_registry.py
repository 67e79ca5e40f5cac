"""The scoring-method registry: the engine and the CLI read it; the docs' worked example runs."""

from __future__ import annotations

import re
import types
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from neurosig.cli.analysis import score_cmd
from neurosig.score import METHODS
from neurosig.score.engine import RUNNERS
from neurosig.tl import score

DOCS = Path(__file__).parents[2] / "docs" / "scoring.md"


def _docs_example() -> types.ModuleType:
    """The module shown under "Adding a scoring method" in docs/scoring.md."""
    text = DOCS.read_text()
    section = text.split("## Adding a scoring method", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    module = types.ModuleType("mean")
    exec(compile(code, str(DOCS), "exec"), module.__dict__)  # noqa: S102 - our own docs
    return module


def test_every_method_has_a_runner_and_metadata():
    for name, meta in METHODS.items():
        assert meta.name == name
        assert meta.kind in RUNNERS, name
        assert meta.desc and meta.reference and meta.needs, name
        assert (meta.prepare is not None) == (meta.kind == "rank"), name


def test_cli_choices_come_from_the_registry():
    method = next(p for p in score_cmd.params if p.name == "method")
    assert list(method.type.choices) == list(METHODS)


def test_docs_example_registers_and_scores(monkeypatch):
    mean = _docs_example()
    monkeypatch.setitem(METHODS, mean.META.name, mean.META)
    rng = np.random.default_rng(0)
    x = rng.poisson(1.0, size=(30, 12)).astype(float)
    x = np.log1p(x)
    adata = ad.AnnData(sp.csr_matrix(x), var=pd.DataFrame(index=[f"G{i}" for i in range(12)]))
    adata.obs_names = [f"c{i}" for i in range(30)]
    df = score(adata, {"set": ["G0", "G3", "G5"]}, method="mean")
    np.testing.assert_allclose(df["set"], x[:, [0, 3, 5]].mean(1), atol=1e-12)
    assert "neurosig_mean" in adata.obsm
    assert adata.uns["neurosig"]["scores"]["neurosig_mean"]["method"] == "mean"
