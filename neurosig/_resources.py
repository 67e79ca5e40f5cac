"""Locate the data that ships with neurosig (``signatures/``, ``data_manifest.yaml``, ``workflows/``).

In a wheel the files live in ``neurosig/_resources/``; in a source checkout or an
editable install they are read from the repository root.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def resource_root() -> Path:
    """Folder holding ``signatures/`` and ``data_manifest.yaml``."""
    for root in (_PACKAGE_DIR / "_resources", _PACKAGE_DIR.parent):
        if (root / "data_manifest.yaml").is_file() and (root / "signatures").is_dir():
            return root
    raise FileNotFoundError(
        "neurosig's data files (data_manifest.yaml, signatures/) were not found next to "
        f"{_PACKAGE_DIR}. Reinstall neurosig (pip install neurosig) or run from a full checkout."
    )


def manifest_path() -> Path:
    """Path of the bundled ``data_manifest.yaml``."""
    return resource_root() / "data_manifest.yaml"


def signatures_dir() -> Path:
    """Path of the bundled ``signatures/`` folder."""
    return resource_root() / "signatures"


def workflows_dir() -> Path:
    """Path of the bundled Snakemake workflow (``workflows/``)."""
    return resource_root() / "workflows"
