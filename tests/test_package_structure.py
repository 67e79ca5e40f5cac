"""The public functions of the ``pp``/``tl``/``pl`` namespaces follow scanpy's conventions.

Every one has a numpy-style docstring whose ``Parameters`` section documents each of its
parameters, and one that takes an AnnData takes it first, named ``adata``. Every key
neurosig writes in ``.uns["neurosig"]`` or ``.obsm`` is named in ``neurosig/_keys.py`` and
listed in ``docs/keys.md``.
"""

from __future__ import annotations

import inspect
import re
import warnings
from pathlib import Path

import pytest

import neurosig as ns

PUBLIC = [
    pytest.param(getattr(mod, name), id=f"{mod.__name__.split('.')[-1]}.{name}")
    for mod in (ns.pp, ns.tl, ns.pl)
    for name in mod.__all__
    if inspect.isfunction(getattr(mod, name))
]


@pytest.mark.parametrize("func", PUBLIC)
def test_numpy_docstring_documents_every_parameter(func):
    doc = inspect.getdoc(func) or ""
    assert doc.split("\n", 1)[0].strip(), "no summary line"
    assert "Parameters\n----------\n" in doc, "no numpy-style Parameters section"
    section = doc.split("Parameters\n----------\n", 1)[1]
    documented = {line.split(":")[0].strip() for line in section.splitlines() if line and line[0] != " "}
    documented = {n for entry in documented for n in entry.split(", ")}
    for name, p in inspect.signature(func).parameters.items():
        shown = f"**{name}" if p.kind is p.VAR_KEYWORD else f"*{name}" if p.kind is p.VAR_POSITIONAL else name
        assert shown in documented, f"parameter {shown} not documented"


@pytest.mark.parametrize("func", PUBLIC)
def test_anndata_comes_first(func):
    params = list(inspect.signature(func).parameters.values())
    takes = [p.name for p in params if "AnnData" in str(p.annotation)]
    if takes:
        assert params[0].name == "adata" and takes[0] == "adata", takes


def _key_constants() -> dict[str, str]:
    from neurosig import _keys

    return {n: v for n, v in vars(_keys).items() if n.isupper() and isinstance(v, str)}


DOCUMENTED_KEYS = Path(__file__).parents[1] / "docs" / "keys.md"


def _documented() -> set[str]:
    return set(re.findall(r"`([^`]+)`", DOCUMENTED_KEYS.read_text()))


def test_every_key_is_documented():
    missing = {n: v for n, v in _key_constants().items() if v not in _documented()}
    assert not missing, f"keys in neurosig/_keys.py missing from docs/keys.md: {missing}"


@pytest.fixture(scope="module")
def staged_run():
    """A small simulated dataset through every stage of ``neurosig run`` (in memory)."""
    from neurosig.pipeline import STAGES
    from neurosig.sim import SimParams, simulate_adata

    adata = simulate_adata(SimParams(n_patients=3, n_cells=600, seed=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in list(STAGES)[1:]:
            STAGES[name](adata, seed=0, n_perms=20, progress=False)
    return adata


def test_a_run_writes_only_documented_keys(staged_run):
    """Every ``.uns["neurosig"]`` and ``.obsm`` key a run writes is a documented constant."""
    known = set(_key_constants().values())
    written = set(staged_run.uns["neurosig"]) | set(staged_run.obsm)
    assert written - known == set(), "written but not named in neurosig/_keys.py"
    assert written - _documented() == set(), "written but not in docs/keys.md"
    assert {"scores", "communication", "claims", "neurosig_score_genes"} <= written


@pytest.mark.parametrize(
    "dataset",
    ["tirosh2016_oligodendroglioma", "darmanis2015_brain", "gliovis_grzmil2011", "hilz_gliomaatlas3d"],
)
def test_harmonised_records_use_documented_keys(dataset):
    from neurosig.pipeline import harmonise

    record = harmonise(dataset=dataset, progress=False).uns["neurosig"]
    assert set(record) - set(_key_constants().values()) == set()


NAMESPACES = [
    *("", "tl", "pp", "pl", "datasets", "knowledge"),
    *("claims", "score", "communicate", "annotate", "export", "sim"),
]


def test_one_way_in():
    """Each public function, class or table has one public home: ``ns.tl.score``, not also ``ns.score.score``.

    The user's tools are in ``tl``/``pp``/``pl``; the loaders of ``signatures/`` in
    ``knowledge``; a stage package exports only what extends or composes it.
    """
    homes: dict[int, list[str]] = {}
    for name in NAMESPACES:
        mod = getattr(ns, name) if name else ns
        for attr in mod.__all__:
            obj = getattr(mod, attr)
            if inspect.isfunction(obj) or inspect.isclass(obj) or isinstance(obj, (dict, list, tuple)):
                homes.setdefault(id(obj), []).append(f"{mod.__name__}.{attr}")
    twice = [names for names in homes.values() if len(names) > 1]
    assert not twice, f"exported from more than one namespace: {twice}"
