"""The public functions of the ``pp``/``tl``/``pl`` namespaces follow scanpy's conventions.

Every one has a numpy-style docstring whose ``Parameters`` section documents each of its
parameters, and one that takes an AnnData takes it first, named ``adata``.
"""

from __future__ import annotations

import inspect

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
