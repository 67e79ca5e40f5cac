"""R data files (``.rda``/``.RData``) holding a sparse ``dgCMatrix``, read with ``rdata``.

``rdata`` parses R's serialisation format itself (no R, no pickle); a dgCMatrix
comes back as its slots ``i``, ``p``, ``x``, ``Dim`` and ``Dimnames`` (genes x cells).
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...errors import ParseError


def read_rda_dgcmatrix(files: dict[str, Path], *, object: str | None = None) -> ad.AnnData:
    """Read a genes x cells ``dgCMatrix`` from an R data file into AnnData (cells x genes).

    Parameters
    ----------
    files
        ``{"rda": path}``.
    object
        Name of the R object; optional when the file holds exactly one.
    """
    import rdata

    path = files["rda"]
    try:
        parsed = rdata.parser.parse_file(path)
        converted = rdata.conversion.convert(parsed)
    except Exception as err:  # rdata raises assorted built-in errors on bad input
        raise ParseError(f"{path}: not a readable R data file ({type(err).__name__}: {err}).") from None
    if object is None:
        if len(converted) != 1:
            raise ParseError(f"{path}: holds objects {list(converted)}; name one with `object`.")
        object = next(iter(converted))
    if object not in converted:
        raise ParseError(f"{path}: no object {object!r}; it holds {list(converted)}.")
    obj = converted[object]
    cls = list(getattr(obj, "class", []) or [])
    if not all(hasattr(obj, s) for s in ("i", "p", "x", "Dim", "Dimnames")) or "dgCMatrix" not in cls:
        raise ParseError(f"{path}: object {object!r} is not a dgCMatrix (class {cls or type(obj).__name__}).")
    n_genes, n_cells = (int(d) for d in obj.Dim)
    mat = sp.csc_matrix(
        (np.asarray(obj.x, dtype=np.float32), np.asarray(obj.i), np.asarray(obj.p)),
        shape=(n_genes, n_cells),
    )
    genes, cells = (list(map(str, d)) for d in obj.Dimnames)
    return ad.AnnData(
        X=mat.T.tocsr(),
        obs=pd.DataFrame(index=pd.Index(cells)),
        var=pd.DataFrame(index=pd.Index(genes)),
    )
