"""CellPhoneDB's statistical method, vectorised over every interaction and group pair.

For each sender group, receiver group and interaction (ligand -> receptor):

* a complex (heteromeric receptor, metabolite enzyme + transporter proxy) is
  expressed at its least-expressed subunit: its mean is the minimum of the subunit
  means, as in CellPhoneDB and liana;
* ``lr_means`` is the mean of the ligand mean in the sender and the receptor mean in
  the receiver (0 when either is 0);
* a row is tested when every subunit of the ligand is detected (value > 0) in more than
  ``expr_prop`` of the sender's cells and every receptor subunit in more than that
  fraction of the receiver's;
* ``n_null_hits`` counts the ``n_perms`` shuffles of the cell labels whose ``lr_means``
  exceeds the observed one, and ``pvalue = (n_null_hits + 1) / (n_perms + 1)``, never 0
  (CellPhoneDB's own p-value is ``n_null_hits / n_perms``).

``rules`` chooses between two readings of the method. ``"cellphonedb"`` (the default)
follows ``cellphonedb`` 5.0.1 (``cpdb_statistical_analysis_helper``): detection
``> expr_prop``; a shuffled ``lr_means`` is ``(x > 0) * (y > 0) * (x + y) / 2``; a
complex's shuffled mean is the minimum of its subunits' shuffled means in each shuffle;
a shuffle counts when its mean is ``>`` the observed one. ``"liana"`` follows
``liana.mt.cellphonedb``: detection ``>= expr_prop``; a shuffled mean is ``(x + y) / 2``
even when a partner is absent; a complex reuses the subunit that was lowest in the
observed data; a shuffle counts when ``>=``. ``complex_null`` overrides the complex rule
alone.

The shuffles are drawn exactly as ``liana.mt.cellphonedb`` draws them (one
``numpy.random.default_rng(seed).permutation`` of the cells per shuffle), so with the
same seed, cells and ``rules="liana"``, ``n_null_hits / n_perms`` equals liana's p-values.

Observed group means are one sparse product; each chunk of shuffles is one compiled
pass over the stored values of the genes of the rows that can be significant. The
matrix is streamed from disk in row blocks when the AnnData is backed or given as a
path, and only the resource genes are kept in memory.
"""

from __future__ import annotations

import logging
import numbers
from dataclasses import dataclass, field
from typing import Literal

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._matrix import LazyH5ad, check_scale, iter_chunks
from .._progress import progress as progress_bar
from .._stats import bh_qvalues
from ..datasets.genes import fraction_ensembl, fraction_mouse_like
from ..errors import InputDataError
from ._kernels import count_null_hits, group_sums, permuted_labels
from .resources import load_resource

log = logging.getLogger(__name__)

TABLE_COLUMNS = [
    "sender",
    "receiver",
    "ligand",
    "receptor",
    "ligand_complex",
    "receptor_complex",
    "ligand_kind",
    "sender_proxy",
    "resource",
    "ligand_means",
    "ligand_props",
    "receptor_means",
    "receptor_props",
    "lr_means",
    "n_null_hits",
    "pvalue",
    "qvalue",
    "claim",
    "on_axis",
]
"""Columns of the communication tables (after :func:`~.axis.add_axis_columns`), in order."""

#: The review's axis annotation, added by the callers (:func:`~.axis.add_axis_columns`).
AXIS_COLUMNS = ["sender_proxy", "claim", "on_axis"]

#: What :func:`cellphonedb` computes: the table's columns without the axis annotation.
COMPUTED_COLUMNS = [c for c in TABLE_COLUMNS if c not in AXIS_COLUMNS]

#: The resource's own names of each row's partners, after the columns above.
ID_COLUMNS = ["ligand_units", "receptor_units", "ligand_id", "receptor_id"]


@dataclass
class PreparedData:
    """Cells and resource genes ready for the test (only the resource genes are kept)."""

    x: sp.csr_matrix  # kept cells x used genes, float32
    codes: np.ndarray  # group code per kept cell (int32)
    groups: list[str]
    sizes: np.ndarray
    genes: list[str]
    skipped_groups: dict[str, int] = field(default_factory=dict)
    n_unlabelled: int = 0


def _labels(obs: pd.DataFrame, groupby: str, min_cells: int):
    if groupby not in obs.columns:
        raise InputDataError(
            f"groupby column {groupby!r} is not in .obs (columns: {', '.join(map(str, obs.columns[:20]))}). "
            "Annotate cell types first (neurosig annotate / neurosig.tl.annotate) or pass groupby=."
        )
    labels = obs[groupby].astype("category")
    counts = labels.value_counts()
    small = counts[(counts < min_cells) & (counts > 0)]
    kept = [g for g in labels.cat.categories if counts.get(g, 0) >= min_cells]
    if len(kept) < 2:
        raise InputDataError(
            f"Communication needs at least two groups in {groupby!r} with >= {min_cells} cells; "
            f"found {counts[counts > 0].to_dict()}. Lower min_cells or group cells more coarsely."
        )
    codes = pd.Categorical(labels, categories=kept).codes.astype(np.int32)
    return codes, kept, {str(k): int(v) for k, v in small.items()}, int(labels.isna().sum())


def check_gene_names(var_names: pd.Index, resource_genes: set[str], min_coverage: float) -> list[str]:
    """Resource genes present in the data; refuse mouse symbols, Ensembl ids and poor overlap."""
    if fraction_ensembl(var_names) > 0.5:
        raise InputDataError(
            "Gene names look like Ensembl ids; the ligand-receptor resources use HGNC symbols. "
            "Load the data with neurosig.datasets.load (it maps ids to symbols) or set var_names "
            "to the symbol column."
        )
    if fraction_mouse_like(var_names) > 0.5:
        raise InputDataError(
            "Gene names look like mouse symbols (e.g. 'Gria2'); the resources are human. Map the "
            "genes to human orthologs (e.g. with biomart or pertpy) before inferring communication."
        )
    present = sorted(resource_genes & set(var_names))
    coverage = len(present) / max(len(resource_genes), 1)
    if coverage < min_coverage:
        missing = sorted(resource_genes - set(var_names))[:10]
        raise InputDataError(
            f"Only {len(present)} of {len(resource_genes)} resource genes ({coverage:.1%}) are in the data "
            f"(missing e.g. {', '.join(missing)}); at least {min_coverage:.0%} are needed. Check the "
            "organism and the gene id type (HGNC symbols are expected), or pass another resource."
        )
    return present


def prepare(
    adata: ad.AnnData,
    groupby: str,
    genes: list[str],
    *,
    layer: str | None = None,
    min_cells: int = 5,
    chunk_size: int = 20000,
) -> PreparedData:
    """Group codes and the CSR sub-matrix of ``genes`` for cells in groups of >= ``min_cells``."""
    codes, groups, small, n_na = _labels(adata.obs, groupby, min_cells)
    col = pd.Index(adata.var_names).get_indexer(genes)
    keep = codes >= 0
    blocks = []
    for i, (a, b, block) in enumerate(iter_chunks(adata, layer, chunk_size)):
        if i == 0:
            check_scale(block, "log")
        blocks.append(sp.csr_matrix(block[keep[a:b]][:, col], dtype=np.float32))
    x = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, len(genes)), dtype=np.float32)
    if x.nnz and not np.isfinite(x.data).all():
        raise InputDataError("The expression matrix holds NaN or infinite values; remove or impute them.")
    x.sort_indices()
    codes = codes[keep]
    sizes = np.bincount(codes, minlength=len(groups)).astype(np.float64)
    if small:
        log.warning(
            "Groups of %r with fewer than %d cells were skipped: %s",
            groupby,
            min_cells,
            ", ".join(f"{k} ({v})" for k, v in small.items()),
        )
    return PreparedData(x, codes, [str(g) for g in groups], sizes, list(genes), small, n_na)


def _entities(resource: pd.DataFrame, gene_pos: dict[str, int]):
    names = pd.unique(np.concatenate([resource["ligand"].to_numpy(), resource["receptor"].to_numpy()]))
    units = [[gene_pos[g] for g in e.split("_")] for e in names]
    width = max(len(u) for u in units)
    padded = np.array([u + [u[0]] * (width - len(u)) for u in units], dtype=np.int64)
    index = {e: i for i, e in enumerate(names)}
    return names, padded, index


RULES = ("cellphonedb", "liana")


def _check_n_perms(n_perms) -> int:
    """``None`` or 0: no p-values; otherwise an integer >= 2 (one shuffle cannot give p < 0.5)."""
    if n_perms is None:
        return 0
    if isinstance(n_perms, bool) or not isinstance(n_perms, numbers.Integral):
        raise InputDataError(f"n_perms is a number of shuffles (an integer), not {n_perms!r}.")
    n_perms = int(n_perms)
    if n_perms < 0 or n_perms == 1:
        raise InputDataError(
            f"n_perms={n_perms}: give at least 2 shuffles (with p = (b + 1) / (n_perms + 1) one shuffle "
            "cannot give a p-value below 0.5; 1,000 is the usual number), or 0/None for no p-values."
        )
    return n_perms


def _min_abs_per_column(x: sp.csr_matrix) -> np.ndarray:
    """Smallest |stored value| of each column (inf for an empty column)."""
    xc = sp.csc_matrix(x)
    out = np.full(xc.shape[1], np.inf)
    filled = np.diff(xc.indptr) > 0
    if filled.any():
        out[filled] = np.minimum.reduceat(np.abs(xc.data), xc.indptr[:-1][filled])
    return out


def _zero_exact(perm_sums: np.ndarray, big: int, min_abs: np.ndarray) -> None:
    """Set to 0 the largest group's sums that are rounding residue of ``total - others``.

    A group holding any cell that expresses a gene has a sum at least that gene's
    smallest stored value away from 0; anything closer is a group without such cells,
    whose mean CellPhoneDB's ``x > 0`` rule must see as exactly 0.
    """
    s = perm_sums[:, big, :]
    s[np.abs(s) < 0.5 * min_abs[None, :]] = 0.0


def cellphonedb(
    adata: ad.AnnData | str,
    groupby: str = "cell_type",
    *,
    resource: str | pd.DataFrame = "cellphonedb_v5",
    layer: str | None = None,
    expr_prop: float = 0.1,
    min_cells: int = 5,
    n_perms: int | None = 1000,
    seed: int = 0,
    rules: Literal["cellphonedb", "liana"] = "cellphonedb",
    complex_null: Literal["cellphonedb", "liana"] | None = None,
    min_resource_coverage: float = 0.05,
    keep_all: bool = False,
    perm_chunk: int = 32,
    chunk_size: int = 20000,
    progress: bool = False,
) -> pd.DataFrame:
    """Ligand-receptor means, detection fractions and permutation p-values per group pair.

    Parameters
    ----------
    adata
        AnnData (in memory or backed) or a path to an ``.h5ad`` file, streamed; ``.X`` (or
        ``layer``) must be log-normalised.
    groupby
        ``.obs`` column of cell groups (senders and receivers).
    resource
        Resource id (``cellphonedb_v5``, ``liana_consensus``) or a table with ``ligand`` and
        ``receptor`` columns.
    expr_prop
        Fraction of cells of a group in which every subunit must be detected: more than
        this fraction with ``rules="cellphonedb"``, at least this fraction with ``"liana"``.
    min_cells
        Groups with fewer cells are skipped and listed (``.attrs["skipped_groups"]``).
    n_perms
        Label shuffles for the p-values (an integer >= 2); ``None`` or 0 for none.
    seed
        Seed of the shuffles; pass liana's default, 1337, to draw liana's shuffles.
    rules
        ``cellphonedb`` (``cellphonedb`` 5.0.1's detection threshold, null mean, complex
        null and ``>`` comparison) or ``liana`` (``liana.mt.cellphonedb``'s); see the
        module docstring.
    complex_null
        Overrides the complex rule of ``rules`` alone: ``cellphonedb``, a complex's
        shuffled mean is the minimum over its subunits in each shuffle; ``liana``, the
        subunit lowest in the observed data is reused. ``None``: as ``rules``.
    min_resource_coverage
        Fewest resource genes (as a fraction) that must be in the data.
    keep_all
        Keep rows that fail ``expr_prop`` (their ``pvalue`` is 1).
    progress
        Show a progress bar over the chunks of shuffles.
    perm_chunk
        Shuffles computed together (memory: ``perm_chunk * groups * genes * 16`` bytes).
    chunk_size
        Rows per block when streaming the matrix.

    Returns
    -------
    A tidy table with columns :data:`COMPUTED_COLUMNS` (:data:`TABLE_COLUMNS` without the
    review's axis annotation, which :func:`~neurosig.communicate.axis.add_axis_columns`
    adds: ``tl.communicate`` and ``cellphonedb_by_sample`` do) plus ``ligand_units``,
    ``receptor_units`` (the resource's ``ligand``/``receptor``: subunits joined by ``_``)
    and ``ligand_id``, ``receptor_id`` (the resource's partner ids, CellPhoneDB's
    ``simple:<UniProt>``/``complex:<name>``), sorted by ``lr_means``.
    ``n_null_hits`` is the number of shuffles whose ``lr_means`` reached the observed
    one (``>`` or ``>=``, per ``rules``) and ``pvalue = (n_null_hits + 1) / (n_perms + 1)``;
    rows not shuffled (``lr_means`` 0, or failing ``expr_prop`` with ``keep_all``) have
    ``n_null_hits = n_perms`` and ``pvalue`` 1; without shuffles ``pvalue`` is NaN and
    ``n_null_hits`` 0. ``qvalue`` is Benjamini-Hochberg over the rows returned.
    ``.attrs`` records the groups, their sizes, skipped groups and the parameters.

    The steps, as liana structures its methods: :func:`prepare_inputs` (arguments,
    resource, cells), :func:`observed` (group means, detection, ``lr_means``),
    :func:`null` (the shuffles) and :func:`to_table`.
    """
    inputs = prepare_inputs(
        adata,
        groupby,
        resource=resource,
        layer=layer,
        expr_prop=expr_prop,
        min_cells=min_cells,
        n_perms=n_perms,
        rules=rules,
        complex_null=complex_null,
        min_resource_coverage=min_resource_coverage,
        chunk_size=chunk_size,
    )
    obs = observed(inputs, keep_all=keep_all)
    hits, pvalue = null(inputs, obs, seed=seed, perm_chunk=perm_chunk, progress=progress)
    return to_table(
        inputs,
        obs,
        hits,
        pvalue,
        groupby=groupby,
        resource=resource,
        layer=layer,
        seed=seed,
        keep_all=keep_all,
    )


@dataclass
class Inputs:
    """Checked parameters, the resource's usable interactions and the prepared cells."""

    data: PreparedData
    res: pd.DataFrame  # interactions with every subunit detected in the kept cells
    n_resource_genes: int
    n_present: int
    expr_prop: float
    min_cells: int
    n_perms: int
    rules: str
    complex_null: str
    means: np.ndarray  # groups x genes
    props: np.ndarray  # groups x genes


def prepare_inputs(
    adata: ad.AnnData | str,
    groupby: str,
    *,
    resource: str | pd.DataFrame,
    layer: str | None,
    expr_prop: float,
    min_cells: int,
    n_perms: int | None,
    rules: str,
    complex_null: str | None,
    min_resource_coverage: float,
    chunk_size: int,
) -> Inputs:
    """Check the arguments, load the resource, read the cells' resource genes and group means."""
    if isinstance(adata, str):
        adata = LazyH5ad(adata)
    if rules not in RULES:
        raise InputDataError(f"rules must be 'cellphonedb' or 'liana', not {rules!r}.")
    complex_null = rules if complex_null is None else complex_null
    if complex_null not in RULES:
        raise InputDataError(f"complex_null must be 'cellphonedb' or 'liana', not {complex_null!r}.")
    if not 0 <= expr_prop <= 1:
        raise InputDataError(f"expr_prop is a fraction of cells (0-1), not {expr_prop}.")
    n_perms = _check_n_perms(n_perms)
    res = load_resource(resource)
    res_genes = {g for e in pd.concat([res["ligand"], res["receptor"]]) for g in str(e).split("_")}
    present = set(check_gene_names(pd.Index(adata.var_names), res_genes, min_resource_coverage))
    data = prepare(adata, groupby, sorted(present), layer=layer, min_cells=min_cells, chunk_size=chunk_size)

    # observed group means and detection fractions of every resource gene
    x = data.x
    n_groups = len(data.groups)
    member = sp.csr_matrix(
        (np.ones(data.codes.size), (data.codes, np.arange(data.codes.size))), shape=(n_groups, x.shape[0])
    )
    sums = np.asarray((member @ x).todense())
    nnz = np.asarray((member @ (x != 0).astype(np.float64)).todense())
    means, props = sums / data.sizes[:, None], nnz / data.sizes[:, None]
    # genes never detected in the kept cells count as absent (as CellPhoneDB and liana drop them)
    detected = set(np.asarray(data.genes)[nnz.sum(axis=0) > 0])
    usable = res["ligand"].map(lambda e: set(e.split("_")) <= detected) & res["receptor"].map(
        lambda e: set(e.split("_")) <= detected
    )
    res = res[usable].reset_index(drop=True)
    if res.empty:
        raise InputDataError(
            "No interaction of the resource has all its subunits detected in these cells; "
            "check the gene names and that .X holds expression values."
        )
    return Inputs(
        data=data,
        res=res,
        n_resource_genes=len(res_genes),
        n_present=len(present),
        expr_prop=expr_prop,
        min_cells=min_cells,
        n_perms=n_perms,
        rules=rules,
        complex_null=complex_null,
        means=means,
        props=props,
    )


@dataclass
class Observed:
    """Every (sender, receiver, interaction) row: observed means, detection, and the rows kept."""

    padded: np.ndarray  # entities x subunits (gene positions)
    chosen: np.ndarray  # groups x entities: the subunit lowest in each group
    chosen_props: np.ndarray
    src: np.ndarray
    tgt: np.ndarray
    row_int: np.ndarray
    lig_r: np.ndarray
    rec_r: np.ndarray
    lig_mean: np.ndarray
    rec_mean: np.ndarray
    expressed: np.ndarray
    lr_means: np.ndarray
    rows: np.ndarray  # rows returned
    n_int: int


def observed(inputs: Inputs, *, keep_all: bool) -> Observed:
    """Complex means (least-expressed subunit), ``lr_means`` and detection of every row."""
    data, res, means, props = inputs.data, inputs.res, inputs.means, inputs.props
    n_groups = len(data.groups)
    gene_pos = {g: i for i, g in enumerate(data.genes)}
    names, padded, index = _entities(res, gene_pos)
    ent_sub_means = means[:, padded]  # groups x entities x subunits
    ent_means = ent_sub_means.min(axis=2)
    ent_min_props = props[:, padded].min(axis=2)
    chosen = padded[np.arange(len(names))[None, :], ent_sub_means.argmin(axis=2)]  # groups x entities
    chosen_props = props[np.arange(n_groups)[:, None], chosen]

    lig = res["ligand"].map(index).to_numpy()
    rec = res["receptor"].map(index).to_numpy()
    n_int = len(res)
    src = np.repeat(np.arange(n_groups), n_groups * n_int)
    tgt = np.tile(np.repeat(np.arange(n_groups), n_int), n_groups)
    row_int = np.tile(np.arange(n_int), n_groups * n_groups)
    lig_r, rec_r = lig[row_int], rec[row_int]
    lig_mean = ent_means[src, lig_r]
    rec_mean = ent_means[tgt, rec_r]
    min_prop = np.minimum(ent_min_props[src, lig_r], ent_min_props[tgt, rec_r])
    cpdb_rules = inputs.rules == "cellphonedb"
    expressed = min_prop > inputs.expr_prop if cpdb_rules else min_prop >= inputs.expr_prop
    lr_means = np.where((lig_mean == 0) | (rec_mean == 0), 0.0, (lig_mean + rec_mean) / 2.0)
    rows = np.flatnonzero(expressed) if not keep_all else np.arange(src.size)
    return Observed(
        padded,
        chosen,
        chosen_props,
        src,
        tgt,
        row_int,
        lig_r,
        rec_r,
        lig_mean,
        rec_mean,
        expressed,
        lr_means,
        rows,
        n_int,
    )


def null(
    inputs: Inputs, obs: Observed, *, seed: int, perm_chunk: int, progress: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffles of the cell labels: ``n_null_hits`` and ``pvalue`` of the rows returned."""
    data, n_perms = inputs.data, inputs.n_perms
    x, n_groups, rows = data.x, len(data.groups), obs.rows
    padded, chosen, src, tgt, lig_r, rec_r = obs.padded, obs.chosen, obs.src, obs.tgt, obs.lig_r, obs.rec_r
    cpdb_rules = inputs.rules == "cellphonedb"
    pvalue = np.full(rows.size, np.nan)
    hits = np.zeros(rows.size, dtype=np.int64)
    if n_perms:
        hits[:] = n_perms  # rows that are not shuffled: p = 1
        # only rows that can reach significance are shuffled, and only their genes are read
        need = np.flatnonzero(obs.expressed[rows] & (obs.lr_means[rows] > 0))
        if need.size:
            r = rows[need]
            ents, inv = np.unique(np.concatenate([lig_r[r], rec_r[r]]), return_inverse=True)
            l_r, q_r = inv[: r.size].astype(np.int64), inv[r.size :].astype(np.int64)
            genes_needed, g_inv = np.unique(
                np.concatenate([padded[ents].ravel(), chosen[:, ents].ravel()]), return_inverse=True
            )
            n_pad = padded[ents].size
            pad_sub = g_inv[:n_pad].reshape(padded[ents].shape)
            chosen_sub = g_inv[n_pad:].reshape(chosen[:, ents].shape)
            xs = x[:, genes_needed].tocsr()
            xs.sort_indices()
            counts = np.zeros(r.size, dtype=np.int64)
            rng = np.random.default_rng(seed)
            s_r, t_r, observed_means = src[r], tgt[r], obs.lr_means[r]
            group_idx = np.arange(n_groups)[:, None]
            # the largest group's sums are the column totals minus the other groups' sums,
            # so its cells (often half of them: malignant) are never visited in the shuffles
            big = int(np.argmax(data.sizes))
            totals = np.asarray(xs.sum(axis=0, dtype=np.float64)).ravel()
            min_abs = _min_abs_per_column(xs)
            starts = range(0, n_perms, perm_chunk)
            for start in progress_bar(starts, desc="shuffles", unit="chunk", disable=not progress):
                n = min(perm_chunk, n_perms - start)
                labels = permuted_labels(data.codes, rng, n)
                labels[labels == big] = -1
                perm_means = group_sums(xs.indptr, xs.indices, xs.data, labels, n_groups, xs.shape[1])
                perm_means[:, big, :] = totals[None, :] - perm_means.sum(axis=1)
                _zero_exact(perm_means, big, min_abs)
                perm_means /= data.sizes[None, :, None]
                if inputs.complex_null == "cellphonedb":
                    ent_perm = perm_means[:, :, pad_sub].min(axis=3)
                else:
                    ent_perm = perm_means[:, group_idx, chosen_sub]
                count_null_hits(
                    np.ascontiguousarray(ent_perm),
                    s_r,
                    l_r,
                    t_r,
                    q_r,
                    observed_means,
                    counts,
                    cpdb_rules,
                    cpdb_rules,
                )
            hits[need] = counts
        pvalue = (hits + 1) / (n_perms + 1)
    return hits, pvalue


def to_table(
    inputs: Inputs,
    obs: Observed,
    hits: np.ndarray,
    pvalue: np.ndarray,
    *,
    groupby: str,
    resource: str | pd.DataFrame,
    layer: str | None,
    seed: int,
    keep_all: bool,
) -> pd.DataFrame:
    """The tidy table of the rows returned (:data:`COMPUTED_COLUMNS`, :data:`ID_COLUMNS`) and ``.attrs``."""
    data, res, rows = inputs.data, inputs.res, obs.rows
    src, tgt, lig_r, rec_r, chosen = obs.src, obs.tgt, obs.lig_r, obs.rec_r, obs.chosen
    groups = np.asarray(data.groups, dtype=object)
    r_res = res.iloc[obs.row_int[rows]].reset_index(drop=True)
    table = pd.DataFrame(
        {
            "sender": groups[src[rows]],
            "receiver": groups[tgt[rows]],
            "ligand": np.asarray(data.genes, dtype=object)[chosen[src[rows], lig_r[rows]]],
            "receptor": np.asarray(data.genes, dtype=object)[chosen[tgt[rows], rec_r[rows]]],
            "ligand_complex": r_res["ligand_complex"].to_numpy(),
            "receptor_complex": r_res["receptor_complex"].to_numpy(),
            "ligand_kind": r_res["ligand_kind"].to_numpy(),
            "resource": r_res["resource"].to_numpy(),
            "ligand_means": obs.lig_mean[rows],
            "ligand_props": obs.chosen_props[src[rows], lig_r[rows]],
            "receptor_means": obs.rec_mean[rows],
            "receptor_props": obs.chosen_props[tgt[rows], rec_r[rows]],
            "lr_means": obs.lr_means[rows],
            "n_null_hits": hits,
            "pvalue": pvalue,
        }
    )
    table["ligand_units"] = r_res["ligand"].to_numpy()
    table["receptor_units"] = r_res["receptor"].to_numpy()
    table["ligand_id"] = r_res["ligand_id"].to_numpy()
    table["receptor_id"] = r_res["receptor_id"].to_numpy()
    table["qvalue"] = bh_qvalues(table["pvalue"].to_numpy())
    table = table[COMPUTED_COLUMNS + ID_COLUMNS]
    table = table.sort_values(
        ["lr_means", "sender", "receiver"], ascending=[False, True, True], kind="stable"
    )
    table = table.reset_index(drop=True)
    table.attrs.update(
        {
            "groupby": groupby,
            "groups": dict(zip(data.groups, data.sizes.astype(int).tolist(), strict=True)),
            "skipped_groups": data.skipped_groups,
            "n_unlabelled_cells": data.n_unlabelled,
            "n_interactions_tested": obs.n_int,
            "resource_genes_found": inputs.n_present,
            "resource_genes": inputs.n_resource_genes,
            "parameters": {
                "resource": resource if isinstance(resource, str) else "user table",
                "layer": layer or "X",
                "expr_prop": inputs.expr_prop,
                "min_cells": inputs.min_cells,
                "n_perms": inputs.n_perms,
                "seed": seed,
                "rules": inputs.rules,
                "complex_null": inputs.complex_null,
                "keep_all": keep_all,
            },
        }
    )
    return table
