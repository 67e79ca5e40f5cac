"""Read an h5ad's matrices chunk by chunk without loading anything else.

``anndata.read_h5ad(path, backed="r")`` keeps ``X`` on disk but reads every layer into
memory; scoring a million-cell file with a counts layer would then hold gigabytes it
never uses. :class:`LazyH5ad` opens the file with h5py and exposes ``X`` and the layers
as anndata sparse datasets (sliced by rows on demand), plus the names.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import pandas as pd

try:  # anndata >= 0.11
    from anndata.io import read_elem, sparse_dataset
except ImportError:  # pragma: no cover
    from anndata.experimental import read_elem, sparse_dataset


def _index(group: h5py.Group) -> pd.Index:
    name = group.attrs["_index"]
    values = group[name][:]
    return pd.Index(values.astype(str) if values.dtype.kind in "OS" else values)


class LazyH5ad:
    """The parts of an AnnData the scoring engine reads, straight from an h5ad file."""

    isbacked = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.file = h5py.File(self.path, "r")
        if self.file["X"].attrs.get("encoding-type") not in ("csr_matrix",):
            raise ValueError(f"{path}: X is not a CSR matrix; streaming needs cells in rows (CSR).")
        self.X = sparse_dataset(self.file["X"])
        self.layers = {k: sparse_dataset(g) for k, g in self.file.get("layers", {}).items()}
        self.obs_names = _index(self.file["obs"])
        self.var_names = _index(self.file["var"])
        self.n_obs, self.n_vars = len(self.obs_names), len(self.var_names)
        self.uns: dict = {}
        self.obsm: dict = {}

    @property
    def obs(self) -> pd.DataFrame:
        """The cell annotations (read from the file on first use; small next to X)."""
        if not hasattr(self, "_obs"):
            self._obs = read_elem(self.file["obs"])
        return self._obs

    def close(self) -> None:
        self.file.close()
