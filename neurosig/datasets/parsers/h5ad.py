"""AnnData ``.h5ad`` files (GBmap, the infercnvpy wheel's Tirosh 2016 copy, users' own)."""

from __future__ import annotations

from pathlib import Path

import anndata as ad

from ...errors import ParseError


def read_h5ad_file(files: dict[str, Path], *, layer: str | None = None) -> ad.AnnData:
    """Read an h5ad; with ``layer``, that layer (e.g. ``counts``) becomes ``X``.

    h5ad holds arrays and strings only: no pickled objects are loaded.
    """
    path = files["h5ad"]
    try:
        adata = ad.read_h5ad(path)
    except (OSError, KeyError) as err:
        raise ParseError(f"{path}: not a readable h5ad file ({err}); it may be truncated.") from None
    if layer is not None:
        if layer not in adata.layers:
            raise ParseError(f"{path}: no layer {layer!r}; layers are {list(adata.layers)}.")
        adata.X = adata.layers[layer]
    return adata
