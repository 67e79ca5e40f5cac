"""Package structure: docstrings on the public API, data files inside the wheel."""

from __future__ import annotations

import inspect
import subprocess
import sys
import zipfile

import pytest

import neurosig
from neurosig.datasets.parsers import PARSERS
from neurosig.score import METHODS

from .conftest import REPO


def test_public_functions_have_numpy_docstrings():
    for module in (
        neurosig.datasets,
        neurosig.pp,
        neurosig.tl,
        neurosig.score,
        neurosig.sim,
        neurosig.annotate,
    ):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                assert obj.__doc__ and obj.__doc__.strip(), f"{module.__name__}.{name} has no docstring"
    for meta in PARSERS.values():
        assert meta.func.__doc__, meta.name
    for meta in METHODS.values():
        assert meta.func.__doc__ and meta.reference, meta.name


@pytest.mark.slow
def test_wheel_ships_manifest_and_signatures(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("neurosig-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "neurosig/_resources/data_manifest.yaml",
        "neurosig/_resources/signatures/cell_types.yaml",
        "neurosig/_resources/signatures/genes/alias_to_symbol.tsv.gz",
        "neurosig/datasets/manifest_schema.json",
        "neurosig/_resources/signatures/patient_scores.yaml",
        "neurosig/_resources/workflows/Snakefile",  # `neurosig workflow` works from a wheel
        "neurosig/_resources/workflows/config.yaml",
        "neurosig/_resources/workflows/profiles/slurm/config.yaml",
    ):
        assert required in names, required
