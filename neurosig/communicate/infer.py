"""``neurosig.tl.communicate``: the whole communication step on one AnnData.

Runs :func:`~neurosig.communicate.cellphonedb.cellphonedb` over all cells and, when a
sample column is given, within each sample; adds the calcium-permeable AMPAR
fraction of the receiver beside every glutamate -> GRIA row; stores the results in
``.uns["neurosig"]["communication"]``:

``table``
    the tidy table over all cells (columns in :data:`TABLE_COLUMNS` plus
    ``receiver_cp_ampar``)
``by_sample``
    the same per sample (with a ``sample`` column), when ``sample_key`` is given
``cp_ampar``
    :func:`~neurosig.communicate.ampar.cp_ampar_fractions` per group (and sample)
``parameters``, ``skipped_groups``, ``skipped_samples``
    what was run and what was left out, and why
``groups_by_sample``
    the groups tested in each sample, with their cells (absent senders or receivers
    make a sample missing for a claim, not 0)
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from .. import _keys
from .._matrix import only_columns
from .._provenance import h5ad_safe, to_plain
from ..datasets.manifest import get_manifest
from ..errors import InputDataError
from ..knowledge.axis import load_axis
from .ampar import cp_ampar_fractions
from .axis import add_axis_columns
from .by_sample import cellphonedb_by_sample
from .cellphonedb import cellphonedb
from .resources import load_resource

GLUTAMATE_AMPAR = ("Glutamate", ("GRIA1", "GRIA2", "GRIA3", "GRIA4"))


def _add_cp_ampar(table: pd.DataFrame, cp: pd.DataFrame, by_sample: bool) -> pd.DataFrame:
    is_ampar = table["ligand_complex"].str.startswith(GLUTAMATE_AMPAR[0] + "_by") & table[
        "receptor_units"
    ].isin(GLUTAMATE_AMPAR[1])
    keys = ["sample", "group"] if by_sample else ["group"]
    left = ["sample", "receiver"] if by_sample else ["receiver"]
    lookup = cp.set_index(keys)["frac_cp_ampar"]
    idx = pd.MultiIndex.from_frame(table[left]) if by_sample else pd.Index(table["receiver"])
    values = lookup.reindex(idx).to_numpy()
    table = table.copy()
    table["receiver_cp_ampar"] = np.where(is_ampar.to_numpy(), values, np.nan)
    return table


def communicate(
    adata: ad.AnnData,
    groupby: str = "cell_type",
    *,
    sample_key: str | None = None,
    layer: str | None = None,
    seed: int = 0,
    inplace: bool = True,
    **kwargs,
) -> pd.DataFrame:
    """Infer ligand-receptor communication between the groups of ``groupby``.

    ``layer``, ``seed`` and every other keyword (``resource``, ``expr_prop``, ``min_cells``,
    ``n_perms``, ``complex_null``...) are those of
    :func:`~neurosig.communicate.cellphonedb.cellphonedb`, with its defaults;
    ``sample_key`` (e.g. ``"patient"``) adds the per-sample tables that the claims
    engine correlates with patient phenotypes.

    Parameters
    ----------
    adata
        Harmonised cells x genes (log-normalised ``X``; values centred per gene, value type
        ``centred_log``, are refused).
    groupby
        ``.obs`` column of the groups that send and receive.
    sample_key
        ``.obs`` column of the samples for per-sample tables (none by default).
    layer
        Matrix to use (default ``X``).
    seed
        Seed of the shuffles (over all cells and within each sample).
    inplace
        Store the results in ``.uns['neurosig']['communication']``.
    **kwargs
        Passed to :func:`~neurosig.communicate.cellphonedb.cellphonedb`.

    Returns
    -------
    The table over all cells. With ``inplace`` everything is also stored in
    ``adata.uns["neurosig"]["communication"]``.
    """
    if layer is None and _keys.record(adata).get(_keys.VALUE_TYPE) == "centred_log":
        raise InputDataError(
            "the values are centred per gene (value_type centred_log), so a ligand's or receptor's "
            "mean expression has no meaning (it can be negative). Communication needs linear or "
            "log-normalised values: harmonise the uncentred data instead."
        )
    kwargs["layer"] = layer
    kwargs["seed"] = seed
    store_in = adata
    if getattr(adata, "isbacked", False) and isinstance(adata, ad.AnnData):
        adata = _needed_genes(adata, kwargs.get("resource", "cellphonedb_v5"), layer)
        kwargs["layer"] = layer = None
    table = add_axis_columns(cellphonedb(adata, groupby, **kwargs))
    try:
        cp = cp_ampar_fractions(adata, groupby, layer=layer)
        table = _add_cp_ampar(table, cp, by_sample=False)
    except InputDataError as err:
        cp = pd.DataFrame({"note": [str(err)]})
        table["receiver_cp_ampar"] = np.nan
    record: dict = {
        "table": table,
        "cp_ampar": cp,
        "parameters": to_plain({**table.attrs["parameters"], "groupby": groupby, "sample_key": sample_key}),
        "groups": to_plain(table.attrs["groups"]),
        "resource_files": _resource_hashes(table.attrs["parameters"]["resource"]),
        "skipped_groups": to_plain(table.attrs["skipped_groups"]),
    }
    if sample_key is not None:
        per = cellphonedb_by_sample(adata, groupby, sample_key, **kwargs)
        if "group" in cp:
            cp_s = cp_ampar_fractions(adata, groupby, layer=layer, sample_key=sample_key)
            per = _add_cp_ampar(per, cp_s, by_sample=True)
            record["cp_ampar_by_sample"] = cp_s
        record["by_sample"] = per
        record["skipped_samples"] = to_plain(per.attrs["skipped_samples"])
        record["skipped_groups_by_sample"] = to_plain(per.attrs["skipped_groups"])
        record["groups_by_sample"] = to_plain(per.attrs["groups_by_sample"])
    if inplace:
        store = _keys.store(store_in)
        store["communication"] = {k: h5ad_safe(v) for k, v in record.items()}
    return table


def _needed_genes(adata: ad.AnnData, resource: str | pd.DataFrame, layer: str | None) -> ad.AnnData:
    """An in-memory AnnData holding only the resource's and the AMPAR subunits' values, read in one pass.

    For a backed atlas: the communication step reads those genes (about 5 % of a 10x
    matrix's values) over and over (all cells, then each sample), so they are read from
    disk once. Every gene keeps its column (the others are empty), so names, checks and
    values are those of the whole matrix and the results are identical.
    """
    res = load_resource(resource)
    spec = load_axis()["calcium_permeable_ampar"]
    genes = {g for e in pd.concat([res["ligand"], res["receptor"]]) for g in str(e).split("_")}
    genes |= {*spec["permeable_subunits"], spec["impermeable_subunit"]}
    keep = pd.Index(adata.var_names).isin(list(genes))
    x = only_columns(adata, keep, layer)
    return ad.AnnData(X=x, obs=adata.obs, var=pd.DataFrame(index=adata.var_names), uns=dict(adata.uns))


def _resource_hashes(resource: str) -> dict[str, str]:
    """sha256 of the resource files (verified on read), or a note for a user table."""
    if resource == "user table":
        return {"user_table": "given in memory"}

    entry = get_manifest().resource(resource)
    return {f["name"]: f.get("sha256", "") for f in entry["files"]}
