"""AnnData ``.h5ad`` files (GBmap, the infercnvpy wheel's Tirosh 2016 copy, users' own)."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import h5py

from ...errors import ParseError

try:  # anndata >= 0.11
    from anndata.io import read_elem
except ImportError:  # pragma: no cover
    from anndata.experimental import read_elem


def h5ad_layers(path: str | Path) -> list[str]:
    """The layer names of an h5ad, read without loading any matrix."""
    try:
        with h5py.File(path, "r") as f:
            return list(f["layers"]) if "layers" in f else []
    except (OSError, KeyError) as err:
        raise ParseError(f"{path}: not a readable h5ad file ({err}); it may be truncated.") from None


def h5ad_raw_has_more_genes(path: str | Path) -> bool:
    """Whether the h5ad's ``.raw`` holds more genes than ``X`` (read without loading a matrix)."""
    try:
        with h5py.File(path, "r") as f:
            if "raw" not in f or "var" not in f["raw"]:
                return False

            def n_var(group) -> int:
                return int(group[group.attrs.get("_index", "_index")].shape[0])

            return n_var(f["raw"]["var"]) > n_var(f["var"])
    except (OSError, KeyError) as err:
        raise ParseError(f"{path}: not a readable h5ad file ({err}); it may be truncated.") from None


def h5ad_n_vars(path: str | Path, matrix: str = "X") -> int:
    """The number of genes of ``X`` (or of ``.raw`` with ``matrix="raw"``), read from the var index."""
    try:
        with h5py.File(path, "r") as f:
            var = f["raw"]["var"] if matrix == "raw" else f["var"]
            return int(var[var.attrs.get("_index", "_index")].shape[0])
    except (OSError, KeyError) as err:
        raise ParseError(f"{path}: not a readable h5ad file ({err}); it may be truncated.") from None


def h5ad_n_obs(path: str | Path) -> int:
    """The number of cells of an h5ad, read from its ``obs`` index without loading anything else."""
    try:
        with h5py.File(path, "r") as f:
            obs = f["obs"]
            return int(obs[obs.attrs.get("_index", "_index")].shape[0])
    except (OSError, KeyError) as err:
        raise ParseError(f"{path}: not a readable h5ad file ({err}); it may be truncated.") from None


def read_h5ad_file(files: dict[str, Path], *, layer: str | None = None) -> ad.AnnData:
    """Read an h5ad; with ``layer``, that layer (e.g. ``counts``) becomes ``X``.

    With ``layer``, only that matrix is read (with ``obs``, ``var`` and ``uns``): ``X``
    and the other layers are never loaded, so an atlas with a counts layer and a
    normalised ``X`` needs memory for one matrix, not two. h5ad holds arrays and strings
    only: no pickled objects are loaded.
    """
    path = files["h5ad"]
    try:
        if layer is None:
            return ad.read_h5ad(path)
        with h5py.File(path, "r") as f:
            if layer not in f.get("layers", {}):
                have = list(f["layers"]) if "layers" in f else []
                raise ParseError(f"{path}: no layer {layer!r}; layers are {have}.")
            parts = {k: read_elem(f[k]) for k in ("obs", "var", "uns") if k in f}
            return ad.AnnData(X=read_elem(f["layers"][layer]), **parts)
    except (OSError, KeyError) as err:
        raise ParseError(f"{path}: not a readable h5ad file ({err}); it may be truncated.") from None
