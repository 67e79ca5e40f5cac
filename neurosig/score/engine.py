"""The scoring engine: gene statistics once, all signatures in one streamed pass.

Linear methods (``score_genes``, ``tirosh``): pass 1 reads the matrix in chunks of cells
and accumulates per-gene means; the method turns every signature into a column of one
weight matrix W (genes x signatures) and an offset; pass 2 reads the chunks again and
computes ``chunk @ W - offset`` for all signatures together. Rank methods (``aucell``,
``ucell``) need one pass. Each method module owns its :class:`~.methods.MethodMeta`; the
engine picks the runner of the method's ``kind`` (:data:`RUNNERS`) and has no per-method
branch. Works on in-memory and disk-backed (``backed="r"``) AnnData alike.

Results: ``.obsm[key]`` (DataFrame, one column per signature) and
``.uns["neurosig"]["scores"][key]`` (method, parameters, coverage, refused sets).
"""

from __future__ import annotations

import functools
import logging
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import _keys
from .._matrix import LazyH5ad, RowSubset, check_scale, iter_chunks
from .._provenance import file_identity, to_plain
from ..datasets.genes import fraction_mouse_like
from ..errors import InputDataError
from ..knowledge.signatures import resolve
from ._kernels import column_sums, sparse_times_weights
from .coverage import check_coverage, coverage
from .methods import METHODS

log = logging.getLogger(__name__)

TRANSFORMS = {
    None: None,
    "log2_tpm10": lambda m: _map_data(m, lambda d: np.log2(d / 10.0 + 1.0)),
}


def _map_data(mat, f):
    if sp.issparse(mat):
        mat = mat.copy()
        mat.data = f(mat.data)
        return mat
    return f(mat)


def _renamed_keyword(old: str, new: str):
    """Accept ``old`` as a deprecated alias of keyword ``new`` (DeprecationWarning; both: an error)."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if old in kwargs:
                if new in kwargs:
                    raise TypeError(f"{func.__name__}() got both {new!r} and its deprecated alias {old!r}.")
                warnings.warn(
                    f"{func.__name__}(): {old!r} is deprecated; pass {new!r} instead.",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper

    return decorate


@_renamed_keyword("random_state", "seed")
def score(
    adata: ad.AnnData,
    signatures=None,
    *,
    method: str = "score_genes",
    layer: str | None = None,
    transform: str | None = None,
    linear_layer: str | None = None,
    key_added: str | None = None,
    chunk_size: int = 10_000,
    min_coverage: float = 0.5,
    min_genes: int = 2,
    seed: int | None = 0,
    progress: bool = False,
    strict: bool | None = None,
    **method_kwargs,
) -> pd.DataFrame:
    """Score signatures per cell, all together, in streamed passes over the matrix.

    Parameters
    ----------
    adata
        Cells x genes: in memory, backed, or the path of an h5ad, which is streamed
        chunk by chunk without loading anything but names (results are returned, and in
        ``frame.attrs["neurosig"]``). An AnnData, backed or not, gets them in ``.obsm``.
    signatures
        ``None`` (the whole library), ids, a GMT/YAML path, a dict or Signature objects.
        Sets below ``min_coverage`` are refused: with explicit signatures this raises,
        with the whole library they are skipped and listed in ``.uns``.
    method
        ``score_genes`` (scanpy-identical), ``tirosh`` (Tirosh 2016 / Neftel 2019),
        ``ulm`` or ``aucell`` (decoupler-identical), ``ucell`` (pyUCell-identical).
    layer, transform
        Matrix to score (default ``X``) and an optional transform of it
        (``log2_tpm10``: ``log2(x/10+1)`` of a TPM layer).
    linear_layer
        For ``tirosh``: the linear (TPM) layer for aggregate expression; default ``layer``.
    key_added
        ``.obsm`` key; default ``neurosig_<method>``.
    seed
        Seed of control-gene sampling (``random_state``, its former name, is still
        accepted, with a DeprecationWarning). Recorded in ``.uns`` as ``random_state``
        (-1 for ``None``).
    strict
        Raise when a signature is refused for low coverage (default: when signatures
        were named); otherwise skip it with a warning and record it.
    chunk_size
        Cells read per chunk.
    min_coverage, min_genes
        Smallest fraction and number of a signature's genes measured; sets below are refused.
    progress
        Show progress bars.
    **method_kwargs
        Parameters of the method (e.g. ``n_bins``, ``controls_per_gene``, ``bin_on`` for
        ``tirosh``; ``n_up`` for ``aucell``; ``max_rank``, ``w_neg`` for ``ucell``).

    Returns
    -------
    DataFrame of scores (cells x signatures), also stored in ``.obsm[key_added]``.
    """
    if method not in METHODS:
        raise InputDataError(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    if isinstance(adata, str | Path):
        adata = LazyH5ad(adata)
    meta = METHODS[method]
    key_added = key_added or _keys.score_key(method)
    explicit = signatures is not None if strict is None else strict
    sigs = resolve(signatures)
    var_names = pd.Index(adata.var_names)
    obs_names = pd.Index(adata.obs_names)
    if var_names.has_duplicates:
        raise InputDataError("Duplicated gene names in var_names; harmonise the dataset first.")
    covs = [coverage(s, var_names) for s in sigs]
    try:
        ok, refused = check_coverage(covs, min_coverage, min_genes, strict=explicit)
    except InputDataError:
        if fraction_mouse_like(var_names[:2000]) > 0.5:
            raise InputDataError(
                "Gene names look like mouse symbols (e.g. "
                f"{', '.join(var_names[:3])}) but the signatures are human. Map mouse genes to "
                "human orthologs first (Ensembl BioMart / pybiomart one-to-one orthologs), then score."
            ) from None
        raise
    if refused:
        warnings.warn(
            f"{len(refused)} signatures refused for low coverage: {', '.join(refused)}", stacklevel=2
        )
    by_id = {s.id: s for s in sigs}
    sig_weights = [c.weights(by_id[c.signature]) for c in ok]
    ids = [c.signature for c in ok]
    tf = TRANSFORMS[transform] if transform in TRANSFORMS else None
    if transform not in TRANSFORMS:
        raise InputDataError(f"Unknown transform {transform!r}; choose from {[t for t in TRANSFORMS if t]}.")

    run = RUNNERS[meta.kind]
    out, details = run(
        meta,
        adata,
        sig_weights,
        var_names,
        layer=layer,
        tf=tf,
        transform=transform,
        linear_layer=linear_layer,
        chunk_size=chunk_size,
        random_state=seed,
        progress=progress,
        params=method_kwargs,
    )
    frame = pd.DataFrame(out, index=obs_names, columns=ids)
    # an AnnData, backed too (obsm in memory); not a LazyH5ad or RowSubset, nor a view of a
    # backed AnnData (anndata cannot copy it to store), which, like them, gets the frame only
    if isinstance(adata, ad.AnnData) and not (adata.isbacked and adata.is_view):
        adata.obsm[key_added] = frame
    record = {
        "method": method,
        "reference": meta.reference,
        "layer": layer or "X",
        "transform": transform or "",
        "random_state": -1 if seed is None else seed,  # the recorded key keeps its name
        "min_coverage": min_coverage,
        "min_genes": min_genes,
        "chunk_size": chunk_size,
        "params": {k: v for k, v in method_kwargs.items() if v is not None},
        "coverage": {c.signature: c.record() for c in covs},
        "refused": refused,
        "details": dict(zip(ids, details, strict=True)),
    }
    _keys.store(adata).setdefault(_keys.SCORES, {})[key_added] = to_plain(record)
    frame.attrs[_keys.UNS] = to_plain(record)
    return frame


class LinearBatch:
    """Columns of a linear method, each with its own parameters, scored in one streamed pass.

    Gene statistics are read once (on the first :meth:`add`); each column's weights come
    from the method exactly as :func:`score` makes them (so a column can have its own
    ``exclude_from_controls``, and later columns can depend on earlier columns' details);
    :meth:`run` reads the matrix once for all columns. Each column equals a :func:`score`
    call with the same signature and parameters to the last digit: its sum runs over the
    same stored values in the same order. The claims engine scores every side of every
    claim this way (two matrix passes in all instead of two per side).

    Examples
    --------
    >>> batch = LinearBatch(adata, seed=0)  # doctest: +SKIP
    >>> details = batch.add("x", {"HLA-A": 1.0, "B2M": 1.0}, exclude_from_controls=["CD274"])
    >>> scores = batch.run()["x"]  # doctest: +SKIP
    """

    def __init__(
        self,
        adata: ad.AnnData,
        method: str = "score_genes",
        *,
        layer: str | None = None,
        chunk_size: int = 10_000,
        seed: int | None = 0,
        progress: bool = False,
    ) -> None:
        if method not in METHODS or METHODS[method].kind != "linear":
            linear = [m for m, meta in METHODS.items() if meta.kind == "linear"]
            raise InputDataError(f"LinearBatch scores linear methods ({', '.join(linear)}), not {method!r}.")
        self.adata, self.meta, self.layer = adata, METHODS[method], layer
        self.chunk_size, self.seed, self.progress = chunk_size, seed, progress
        self.var_names = pd.Index(adata.var_names)
        self.stats: dict[str, np.ndarray] | None = None
        self.names: list[str] = []
        self.columns: list[np.ndarray] = []
        self.offsets: list[float] = []

    def add(self, name: str, weights: dict[str, float], **params) -> dict:
        """Add a column: the signature's genes (data's names) and the method's parameters; its details."""
        if self.stats is None:
            self.stats = _gene_stats(
                self.adata, self.layer, None, None, self.chunk_size, self.meta.needs, self.progress
            )
        w, offset, details = self.meta.func(
            [weights], self.var_names, self.stats, random_state=self.seed, **params
        )
        self.names.append(name)
        self.columns.append(np.asarray(w)[:, 0])
        self.offsets.append(float(np.asarray(offset)[0]))
        return details[0]

    def run(self) -> dict[str, np.ndarray]:
        """Every column's scores per cell, in one pass over the matrix."""
        if not self.names:
            return {}
        w = sp.csr_matrix(np.column_stack(self.columns))
        offset = np.asarray(self.offsets)
        out = np.zeros((self.adata.n_obs, len(self.names)))
        for a, b, block in iter_chunks(self.adata, self.layer, self.chunk_size, self.progress, "scoring"):
            out[a:b] = sparse_times_weights(block, w) - offset
        return {name: out[:, j].copy() for j, name in enumerate(self.names)}


def _run_linear(
    meta,
    adata,
    sig_weights,
    var_names,
    *,
    layer,
    tf,
    transform,
    linear_layer,
    chunk_size,
    random_state,
    progress,
    params,
):
    """Gene statistics (pass 1), the method's weights and offset, then ``X @ W - offset`` (pass 2)."""
    needs_linear = meta.needs_linear(params)
    linear = (linear_layer or layer) if needs_linear else None
    if needs_linear and linear is None:
        raise InputDataError(
            "bin_on='aggregate' needs linear TPM values: pass layer='tpm', "
            "transform='log2_tpm10' (or linear_layer=...)."
        )
    stats = _gene_stats(
        adata, layer, tf, linear, chunk_size, meta.needs if transform is None else "transformed", progress
    )
    kwargs = {"random_state": random_state, **params}
    w, offset, details = meta.func(sig_weights, var_names, stats, **kwargs)
    w = sp.csr_matrix(w)
    out = np.zeros((adata.n_obs, len(sig_weights)))
    for a, b, block in iter_chunks(adata, layer, chunk_size, progress, "scoring"):
        if tf is not None:
            block = tf(block)
        out[a:b] = sparse_times_weights(block, w) - offset
    return out, details


def _run_moments(meta, adata, sig_weights, var_names, *, layer, tf, chunk_size, progress, **_):
    """``X @ W`` and the row moments of X over detected genes, one pass, into the kernel."""
    detected = _detected(adata, layer, chunk_size, progress)
    w = np.zeros((len(var_names), len(sig_weights)))
    pos = pd.Series(np.arange(len(var_names)), index=var_names)
    for j, sw in enumerate(sig_weights):
        w[pos[list(sw)].to_numpy(), j] = list(sw.values())
    w = w[detected]
    ws = sp.csr_matrix(w)
    n = int(detected.sum())
    out = np.zeros((adata.n_obs, len(sig_weights)))
    for a, b, block in iter_chunks(adata, layer, chunk_size, progress, "scoring"):
        if tf is not None:
            block = tf(block)
        block = block[:, detected]
        xw = sparse_times_weights(block, ws)
        data = block.data.astype(np.float64)
        rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        rowsum = np.bincount(rows, weights=data, minlength=block.shape[0])
        rowsq = np.bincount(rows, weights=data * data, minlength=block.shape[0])
        out[a:b] = meta.func(xw, rowsum, rowsq, w, n)
    return out, [{"n_genes_model": n}] * len(sig_weights)


def _run_rank(meta, adata, sig_weights, var_names, *, layer, tf, chunk_size, progress, params, **_):
    """The method's chunk scorer on dense chunks of at most 2000 cells."""
    score_chunk, detail = meta.prepare(
        sig_weights, var_names, lambda: _detected(adata, layer, chunk_size, progress), **params
    )
    out = np.zeros((adata.n_obs, len(sig_weights)))
    for a, b, block in iter_chunks(adata, layer, min(chunk_size, 2000), progress, "scoring"):
        if tf is not None:
            block = tf(block)
        _check_nan(block)
        out[a:b] = score_chunk(block.toarray())
    return out, [detail] * len(sig_weights)


RUNNERS = {"linear": _run_linear, "moments": _run_moments, "rank": _run_rank}
"""How each kind of method is driven over the matrix (see :class:`MethodMeta`)."""


def _check_nan(block: sp.csr_matrix) -> None:
    if np.isnan(block.data).any():
        raise InputDataError("The expression matrix holds NaN values; remove or impute them before scoring.")


def _detected(adata, layer, chunk_size, progress) -> np.ndarray:
    """Genes with a non-zero value in any cell (one pass; also refuses NaN)."""
    detected = np.zeros(adata.n_vars, dtype=bool)
    for _a, _b, block in iter_chunks(adata, layer, chunk_size, progress, "gene statistics"):
        _check_nan(block)
        detected[block.indices[block.data != 0]] = True
    return detected


def _on_disk(adata) -> tuple | None:
    """The whole file behind a matrix read from disk (path, inode, size, mtime, ctime), else None.

    None for a subset of the file's cells (a view, a :class:`~neurosig._matrix.RowSubset`):
    their gene means are not the file's.
    """
    path = getattr(adata, "filename", None) or getattr(adata, "path", None)
    if not getattr(adata, "isbacked", False) or path is None or isinstance(adata, RowSubset):
        return None
    if getattr(adata, "is_view", False):
        return None
    return file_identity(path)


_STATS: dict[tuple, dict[str, np.ndarray]] = {}
"""Gene means of matrices on disk (read-only files), so a run reads them once, not per stage."""


def _gene_stats(adata, layer, tf, linear_layer, chunk_size, needs, progress) -> dict[str, np.ndarray]:
    """Per-gene means of the scored matrix (and of the linear layer for ``tirosh``), one pass.

    For a file on disk (a backed AnnData, :class:`~neurosig._matrix.LazyH5ad`) the means of
    a plain read (no transform, no linear layer) of the whole file are remembered for the
    process, keyed by the file (:func:`~neurosig._provenance.file_identity`), the layer,
    the chunk size (the order of the sums) and the scale checked: the score and test
    stages of an atlas run read the matrix once for them. A subset of its cells is
    never served the file's means.
    """
    disk = _on_disk(adata) if tf is None and linear_layer is None else None
    key = (*disk, layer, chunk_size, needs) if disk is not None else None
    if key in _STATS:
        return dict(_STATS[key])
    stats = _gene_means(adata, layer, tf, linear_layer, chunk_size, needs, progress)
    if key is not None:
        _STATS.clear()  # one file at a time: a run reads one matrix
        _STATS[key] = stats
    return dict(stats)


def _gene_means(adata, layer, tf, linear_layer, chunk_size, needs, progress) -> dict[str, np.ndarray]:
    total = np.zeros(adata.n_vars)
    checked = False
    for _a, _b, block in iter_chunks(adata, layer, chunk_size, progress, "gene statistics"):
        if not checked:
            check_scale(block, needs)
            checked = True
        if tf is not None:
            block = tf(block)
        _check_nan(block)
        total += column_sums(block, adata.n_vars)
    stats = {"mean": total / adata.n_obs}
    if linear_layer is not None:
        lt = np.zeros(adata.n_vars)
        for _a, _b, block in iter_chunks(adata, linear_layer, chunk_size):
            lt += column_sums(block, adata.n_vars)
        stats["linear_mean"] = lt / adata.n_obs
    return stats
