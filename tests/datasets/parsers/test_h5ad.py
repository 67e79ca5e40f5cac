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


def test_one_layer_is_read_alone(tmp_path):
    """With layer=, only that matrix is read: the same values as reading the whole file."""
    import anndata as ad
    import numpy as np
    import scipy.sparse as sp

    from neurosig.datasets.parsers.h5ad import h5ad_layers

    rng = np.random.default_rng(0)
    counts = sp.random(50, 30, density=0.2, format="csr", random_state=1, dtype=np.float32)
    counts.data = np.round(counts.data * 20 + 1)
    a = ad.AnnData(X=counts.copy(), layers={"counts": counts, "other": counts * 2})
    a.X.data = np.log1p(a.X.data)
    a.obs["patient"] = rng.choice(["p1", "p2"], 50)
    path = tmp_path / "two.h5ad"
    a.write_h5ad(path)
    assert h5ad_layers(path) == ["counts", "other"]
    one = run_parser("h5ad", {"h5ad": path}, {"layer": "counts"})
    whole = ad.read_h5ad(path)
    assert (one.X != whole.layers["counts"]).nnz == 0 and not one.layers
    assert one.obs.equals(whole.obs) and one.var_names.equals(whole.var_names)
    with pytest.raises(ParseError, match="no layer 'tpm'; layers are"):
        run_parser("h5ad", {"h5ad": path}, {"layer": "tpm"})
