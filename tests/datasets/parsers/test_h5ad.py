"""h5ad, on the real copy shipped inside the infercnvpy wheel."""

from __future__ import annotations

import pytest

from neurosig.datasets.fetch import fetch_file
from neurosig.datasets.manifest import get_manifest
from neurosig.datasets.parsers import run_parser
from neurosig.errors import ParseError


def test_infercnvpy_wheel_h5ad():
    entry = get_manifest().get("tirosh2016_oligodendroglioma_infercnvpy")
    a = run_parser("h5ad", {"h5ad": fetch_file(entry, "oligodendroglioma.h5ad")})
    assert a.shape == (184, 9450)
    assert {"chromosome", "start", "end"} <= set(a.var.columns)


def test_truncated_h5ad(tmp_path):
    path = tmp_path / "x.h5ad"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(ParseError, match="not a readable h5ad"):
        run_parser("h5ad", {"h5ad": path})
