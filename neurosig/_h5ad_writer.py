"""Write an h5ad whose matrices arrive in chunks of cells, with bounded memory.

The file follows anndata's on-disk format (CSR groups with ``data``, ``indices``,
``indptr``, written with resizable HDF5 datasets); ``obs``, ``var`` and ``uns`` are
written with ``anndata.io.write_elem``. The file is built under a temporary name and
renamed when complete, and HDF5 object timestamps are off so the same inputs give the
same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp

try:  # anndata >= 0.11
    from anndata.io import write_elem
except ImportError:  # pragma: no cover
    from anndata.experimental import write_elem


class StreamingCSR:
    """One CSR matrix group that grows by appending row blocks.

    ``n_obs=None``: the number of rows is known only at the end (rows are dropped on
    the way); ``indptr`` then grows too, and :meth:`finish` writes the shape.
    """

    def __init__(self, group: h5py.Group, n_vars: int, n_obs: int | None) -> None:
        self.group = group
        self.n_vars = n_vars
        self.n_obs = n_obs
        group.attrs["encoding-type"] = "csr_matrix"
        group.attrs["encoding-version"] = "0.1.0"
        group.attrs["shape"] = np.array([n_obs or 0, n_vars], dtype=np.int64)
        kw = {"maxshape": (None,), "chunks": (1 << 16,), "track_times": False}
        self.data = group.create_dataset("data", shape=(0,), dtype=np.float32, **kw)
        self.indices = group.create_dataset("indices", shape=(0,), dtype=np.int32, **kw)
        if n_obs is None:
            self.indptr = group.create_dataset("indptr", shape=(1,), dtype=np.int64, **kw)
        else:
            self.indptr = group.create_dataset(
                "indptr", shape=(n_obs + 1,), dtype=np.int64, track_times=False
            )
        self.rows = 0
        self.nnz = 0
        self.indptr[0] = 0

    def append(self, block: sp.csr_matrix) -> None:
        block = sp.csr_matrix(block)
        n = block.shape[0]
        start, end = self.nnz, self.nnz + block.nnz
        self.data.resize((end,))
        self.indices.resize((end,))
        self.data[start:end] = block.data.astype(np.float32)
        self.indices[start:end] = block.indices.astype(np.int32)
        if self.n_obs is None:
            self.indptr.resize((self.rows + n + 1,))
        self.indptr[self.rows + 1 : self.rows + n + 1] = block.indptr[1:].astype(np.int64) + start
        self.rows += n
        self.nnz = end

    def finish(self) -> None:
        """Write the shape of a matrix whose rows were counted on the way."""
        self.group.attrs["shape"] = np.array([self.rows, self.n_vars], dtype=np.int64)


class StreamingH5ad:
    """Context manager writing ``X`` (and optional layers) chunk by chunk.

    Examples
    --------
    >>> with StreamingH5ad(path, obs, var, layers=("counts",)) as w:  # doctest: +SKIP
    ...     w.append(x_block, counts=count_block)
    ...     w.uns = {"note": "..."}
    """

    def __init__(
        self,
        path: str | Path,
        obs: pd.DataFrame | None,
        var: pd.DataFrame,
        layers: tuple[str, ...] = (),
    ):
        """``obs=None``: the cells are set (``self.obs = ...``) after the last chunk."""
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.part")
        self.obs, self.var, self.layer_names = obs, var, layers
        self.uns: dict = {}

    def __enter__(self) -> StreamingH5ad:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = h5py.File(self.tmp, "w", track_order=False, libver="earliest")
        self.file.attrs["encoding-type"] = "anndata"
        self.file.attrs["encoding-version"] = "0.1.0"
        n_obs, n_vars = (len(self.obs) if self.obs is not None else None), len(self.var)
        self.x = StreamingCSR(self.file.create_group("X", track_order=False), n_vars, n_obs)
        layers = self.file.create_group("layers")
        layers.attrs["encoding-type"] = "dict"
        layers.attrs["encoding-version"] = "0.1.0"
        self.layers = {k: StreamingCSR(layers.create_group(k), n_vars, n_obs) for k in self.layer_names}
        return self

    def append(self, x: sp.csr_matrix, **layers: sp.csr_matrix) -> None:
        self.x.append(x)
        for k, block in layers.items():
            self.layers[k].append(block)

    def __exit__(self, exc_type, exc, tb) -> None:
        complete = False
        try:
            if exc_type is None:
                if self.obs is None or self.x.rows != len(self.obs):
                    raise RuntimeError(
                        f"wrote {self.x.rows} cells; obs has {0 if self.obs is None else len(self.obs)}"
                    )
                for matrix in (self.x, *self.layers.values()):
                    matrix.finish()
                write_elem(self.file, "obs", self.obs)
                write_elem(self.file, "var", self.var)
                write_elem(self.file, "uns", self.uns)
                for key in ("obsm", "varm", "obsp", "varp"):
                    write_elem(self.file, key, {})
                complete = True
        finally:
            self.file.close()  # also when writing the end failed: no open handle on a removed file
            if complete:
                os.replace(self.tmp, self.path)
            elif self.tmp.exists():
                self.tmp.unlink()
