"""Provenance records: package versions and file hashes for every output."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._atomic import write_text
from ._version import __version__

#: Packages whose versions are recorded with every output.
TRACKED_PACKAGES = (
    "neurosig",
    "anndata",
    "scanpy",
    "numpy",
    "scipy",
    "pandas",
    "h5py",
    "pooch",
    "rdata",
    "decoupler",
    "liana",
    "gseapy",
    "scikit-learn",
    "infercnvpy",
    "pyarrow",
)


def package_versions(packages: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` (``"not installed"`` where absent), plus Python."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def file_identity(path: str | Path) -> tuple:
    """A file's path, inode, size and modification and change times: changes when the file does.

    Rewriting a file (or copying another over it, even keeping the modification time, as
    ``cp -p`` does) changes its change time or inode.
    """
    st = os.stat(path)
    return str(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def file_hash(path: str | Path, algorithm: str = "sha256", chunk: int = 1 << 20) -> str:
    """Hex digest of a file, read in chunks.

    Remembered for the process by :func:`file_identity`: a run hashes its input (an atlas
    of tens of GB takes a minute) once, not at each place that records it.
    """
    key = (*file_identity(path), algorithm)
    if key not in _HASHES:
        h = hashlib.new(algorithm)
        with open(path, "rb") as fh:
            while block := fh.read(chunk):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


_HASHES: dict[tuple, str] = {}


def to_plain(obj: Any) -> Any:
    """A record in plain types that h5ad can store (no None, no NumPy scalars, lists for tuples)."""
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if obj is None:
        return ""
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def h5ad_safe(value: Any) -> Any:
    """A DataFrame as h5ad stores it: no ``attrs``, object columns as strings; others unchanged."""
    if not isinstance(value, pd.DataFrame):
        return value
    out = value.copy()
    out.attrs = {}
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].astype(str)
    return out


def write_provenance(out: str | Path, outputs: dict[str, Path], **fields: Any) -> Path:
    """Write ``out/provenance.json``: neurosig and dependency versions, time, ``fields``, output hashes."""
    record = {
        "neurosig_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **fields,
        "versions": package_versions(),
        "outputs": {name: file_hash(path) for name, path in outputs.items()},
    }
    return write_text(Path(out) / "provenance.json", json.dumps(to_plain(record), indent=1, default=str))
