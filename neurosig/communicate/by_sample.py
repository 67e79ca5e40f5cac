"""Communication per patient or sample, and the patient x interaction table."""

from __future__ import annotations

import logging
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from .._matrix import RowSubset
from ..errors import InputDataError
from ..knowledge.axis import load_axis, on_axis_of
from .axis import add_axis_columns
from .cellphonedb import cellphonedb

log = logging.getLogger(__name__)

INTERACTION_KEY = ["sender", "receiver", "ligand_complex", "receptor_complex"]


def cellphonedb_by_sample(
    adata: ad.AnnData, groupby: str = "cell_type", sample_key: str = "patient", **kwargs
) -> pd.DataFrame:
    """:func:`~neurosig.communicate.cellphonedb.cellphonedb` within each sample, stacked.

    Groups below ``min_cells`` within a sample are skipped, and a sample with fewer than
    two qualifying groups is skipped whole; both are listed in ``.attrs`` (never dropped
    silently), as are the groups tested in each sample (``groups_by_sample``: group ->
    cells), which tell an absent sender or receiver from an unexpressed pair.
    Shuffles stay within a sample. ``qvalue`` is computed within each sample. Each sample's
    cells are read a chunk at a time (:class:`~neurosig._matrix.RowSubset`), never as a copy:
    a view of a backed AnnData would read a sample's rows all at once.
    """
    if sample_key not in adata.obs:
        raise InputDataError(
            f"sample_key {sample_key!r} is not in .obs; pass the column that names the patient or sample."
        )
    tables, skipped_groups, skipped_samples, groups_by_sample = [], {}, {}, {}
    samples = adata.obs[sample_key].astype(str)
    for sample in sorted(samples.unique()):
        sub = RowSubset(adata, (samples == sample).to_numpy())
        try:
            t = cellphonedb(sub, groupby, **kwargs)
        except InputDataError as err:
            skipped_samples[sample] = str(err)
            log.warning("Sample %s skipped: %s", sample, err)
            continue
        if t.attrs["skipped_groups"]:
            skipped_groups[sample] = t.attrs["skipped_groups"]
        groups_by_sample[sample] = dict(t.attrs["groups"])
        t.insert(0, "sample", sample)
        tables.append(t)
    if not tables:
        raise InputDataError(
            f"No sample of {sample_key!r} has two groups with enough cells; reasons: {skipped_samples}"
        )
    out = add_axis_columns(pd.concat(tables, ignore_index=True))
    out.attrs.update(
        {
            "sample_key": sample_key,
            "skipped_groups": skipped_groups,
            "skipped_samples": skipped_samples,
            "groups_by_sample": groups_by_sample,
            "parameters": tables[0].attrs["parameters"],
        }
    )
    return out


def interaction_matrix(
    table: pd.DataFrame,
    value: str = "lr_means",
    *,
    axis_only: bool = False,
    fill: float | None = 0.0,
    samples: list[str] | None = None,
) -> pd.DataFrame:
    """Samples x interactions (``sender|receiver|ligand_complex|receptor_complex``).

    An interaction missing from a sample's table (not expressed there) gets ``fill``:
    0 for ``lr_means`` means "not detected", NaN leaves it missing. With
    ``axis_only`` only rows on the review's axis (``on_axis``) are kept. ``samples``
    lists every sample to report: one absent from the table (skipped, e.g. a single
    cell type) gets a row of NaN, never ``fill``.
    """
    if "sample" not in table:
        raise InputDataError("The table has no 'sample' column; compute it with cellphonedb_by_sample.")
    t = table[table["on_axis"]] if axis_only else table
    ids = t[INTERACTION_KEY].astype(str).agg("|".join, axis=1)
    wide = t.assign(interaction=ids).pivot_table(
        index="sample", columns="interaction", values=value, aggfunc="first"
    )
    computed = sorted(table["sample"].astype(str).unique())
    if fill is not None:
        wide = wide.reindex(computed).fillna(fill)
    index = pd.Index(samples if samples is not None else computed, name="sample")
    return wide.reindex(index).astype(np.float64)


def _groups_in_table(table: pd.DataFrame) -> dict[str, set[str]]:
    """Groups seen as sender or receiver in each sample's rows (a fallback for old tables)."""
    out: dict[str, set[str]] = {}
    for sample, rows in table.groupby(table["sample"].astype(str)):
        out[sample] = set(rows["sender"].astype(str)) | set(rows["receiver"].astype(str))
    return out


def axis_strengths(
    table: pd.DataFrame,
    axis_ids: list[str],
    samples: list[str] | None = None,
    groups: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Samples x axis claims: the strongest ``lr_means`` of each claim's on-axis pairs.

    ``table`` is a per-sample table (:func:`cellphonedb_by_sample`). Absent is not zero:
    a sample in which none of the claim's senders, or none of its receivers, was tested
    (fewer than ``min_cells`` cells, or none) gets NaN, as does a sample in ``samples``
    that was not tested at all; 0 means both sides were there and no pair was expressed.
    ``groups`` maps each sample to the groups tested in it (``groups_by_sample`` of
    :func:`cellphonedb_by_sample`, also in ``table.attrs``); without it the groups seen
    in the sample's rows are used.
    """
    if "sample" not in table:
        raise InputDataError("The table has no 'sample' column; compute it with cellphonedb_by_sample.")
    groups = groups if groups is not None else table.attrs.get("groups_by_sample")
    present = {str(k): set(v) for k, v in groups.items()} if groups else _groups_in_table(table)
    # a sample tested with no expressed row at all is still tested (0 where both sides exist)
    tested = sorted(set(table["sample"].astype(str)) | set(present))
    claims = load_axis()["claims"]
    out = {}
    for cid in axis_ids:
        rows = table[on_axis_of(table, cid)]
        values = rows.groupby(rows["sample"].astype(str))["lr_means"].max().reindex(tested).fillna(0.0)
        both = [
            bool(present.get(s, set()) & set(claims[cid]["senders"]))
            and bool(present.get(s, set()) & set(claims[cid]["receivers"]))
            for s in tested
        ]
        out[cid] = values.where(np.array(both, dtype=bool))
    wide = pd.DataFrame(out, index=pd.Index(tested, name="sample"), columns=list(axis_ids))
    index = pd.Index(samples if samples is not None else tested, name="sample")
    return wide.reindex(index).astype(np.float64)
