"""Ligand-receptor resources, read offline from verified files.

Every resource becomes one table with a row per interaction:

``ligand``, ``receptor``
    Gene symbols; subunits of a complex joined by ``_`` (liana's convention),
    e.g. ``GLS_SLC17A7`` for glutamate released through VGLUT1.
``ligand_complex``, ``receptor_complex``
    The resource's own name of each partner (a complex name such as
    ``Glutamate_byGLS_and_SLC17A7``, or the gene symbol for a single protein).
``ligand_kind``
    ``protein`` or ``metabolite`` (CellPhoneDB encodes a small-molecule ligand by
    its last biosynthetic enzyme and a transporter, ``<Metabolite>_by<ENZYME>...``).
``classification``, ``directionality``
    CellPhoneDB's own annotations (empty for liana's consensus).
``resource``
    The resource id.
``claim``, ``sender_proxy``
    The review's axis claims the pair belongs to (``C2;C5``) and, for a metabolite
    ligand, whether its transporter is vesicular or plasma-membrane
    (``signatures/communication_axis.yaml``); computed once per resource.

The files come from ``data_manifest.yaml`` (``resources:``) and are verified by
sha256 on every read, through the same fetcher as the datasets.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from ..datasets.fetch import fetch_file
from ..datasets.manifest import get_manifest
from ..errors import InputDataError
from .axis import claim_ids, metabolite_name, sender_proxy

RESOURCE_COLUMNS = [
    "ligand",
    "receptor",
    "ligand_complex",
    "receptor_complex",
    "ligand_kind",
    "classification",
    "directionality",
    "resource",
    "claim",
    "sender_proxy",
]


def list_resources() -> list[str]:
    """Ids of the resources in the bundled manifest."""
    return list(get_manifest().resources)


def _read_cellphonedb_v5(entry: dict) -> pd.DataFrame:
    interactions = pd.read_csv(fetch_file(entry, "interaction_input.csv", progress=False))
    complexes = pd.read_csv(fetch_file(entry, "complex_input.csv", progress=False))
    genes = pd.read_csv(fetch_file(entry, "gene_input.csv", progress=False))
    # One symbol per UniProt id: the first gene_name row, as gene_input lists it.
    uniprot_to_gene = genes.drop_duplicates("uniprot").set_index("uniprot")["gene_name"]
    subunit_cols = [c for c in complexes.columns if c.startswith("uniprot_")]

    def members(row: pd.Series) -> str | None:
        ids = [row[c] for c in subunit_cols if isinstance(row[c], str)]
        symbols = [uniprot_to_gene.get(u) for u in ids]
        return None if any(s is None for s in symbols) else "_".join(symbols)

    complex_genes = complexes.set_index("complex_name").apply(members, axis=1)

    def partner(name: str) -> str | None:
        if name in complex_genes.index:
            return complex_genes[name]
        return uniprot_to_gene.get(name)

    out = pd.DataFrame(
        {
            "ligand": interactions["partner_a"].map(partner),
            "receptor": interactions["partner_b"].map(partner),
            "ligand_complex": interactions["partner_a"],
            "receptor_complex": interactions["partner_b"],
            "classification": interactions["classification"].fillna(""),
            "directionality": interactions["directionality"].fillna(""),
        }
    )
    unresolved = out["ligand"].isna() | out["receptor"].isna()
    if unresolved.any():
        bad = interactions.loc[unresolved, ["partner_a", "partner_b"]].head(5).to_dict("records")
        raise InputDataError(
            f"CellPhoneDB v5: {int(unresolved.sum())} interactions name a partner missing from "
            f"gene_input/complex_input (e.g. {bad}); the three files must come from one release."
        )
    # single proteins are named by their gene symbol, as liana names them
    single_a = ~out["ligand_complex"].isin(complex_genes.index)
    single_b = ~out["receptor_complex"].isin(complex_genes.index)
    out.loc[single_a, "ligand_complex"] = out.loc[single_a, "ligand"]
    out.loc[single_b, "receptor_complex"] = out.loc[single_b, "receptor"]
    return out


def _read_liana_bundled(entry: dict) -> pd.DataFrame:
    path = fetch_file(entry, entry["files"][0]["name"], progress=False)
    name = entry.get("options", {}).get("resource_name", "consensus")
    table = pd.read_csv(path, index_col=False)
    table = table[table["resource"] == name]
    if table.empty:
        raise InputDataError(f"{path} holds no rows of resource {name!r}.")
    # the same selection as liana.resource.select_resource(name)
    return pd.DataFrame(
        {
            "ligand": table["source_genesymbol"].to_numpy(),
            "receptor": table["target_genesymbol"].to_numpy(),
            "ligand_complex": table["source_genesymbol"].to_numpy(),
            "receptor_complex": table["target_genesymbol"].to_numpy(),
            "classification": "",
            "directionality": "",
        }
    )


_READERS = {"cellphonedb_v5": _read_cellphonedb_v5, "liana_bundled": _read_liana_bundled}


def _finish(table: pd.DataFrame, resource_id: str) -> pd.DataFrame:
    """Add the derived columns (kind, resource, axis claim, sender proxy); one row per pair."""
    table = table.drop_duplicates(["ligand_complex", "receptor_complex"]).reset_index(drop=True)
    table["ligand_complex"] = table["ligand_complex"].astype(str)
    if "ligand_kind" not in table:
        table["ligand_kind"] = [
            "metabolite" if metabolite_name(c) else "protein" for c in table["ligand_complex"]
        ]
    for col in ("classification", "directionality"):
        if col not in table:
            table[col] = ""
    if "resource" not in table:
        table["resource"] = resource_id
    table["claim"] = claim_ids(table).to_numpy()
    table["sender_proxy"] = [
        sender_proxy(lig, cplx) for lig, cplx in zip(table["ligand"], table["ligand_complex"], strict=True)
    ]
    return table[RESOURCE_COLUMNS]


@cache
def _load_cached(resource_id: str) -> pd.DataFrame:
    entry = get_manifest().resource(resource_id)
    return _finish(_READERS[entry["kind"]](entry), resource_id)


def load_resource(resource: str | pd.DataFrame = "cellphonedb_v5") -> pd.DataFrame:
    """A ligand-receptor resource as a table (see the module docstring for its columns).

    Parameters
    ----------
    resource
        A resource id from the manifest (``cellphonedb_v5``, ``liana_consensus``), or a
        user table with at least ``ligand`` and ``receptor`` columns (complex subunits
        joined by ``_``).
    """
    if isinstance(resource, pd.DataFrame):
        missing = {"ligand", "receptor"} - set(resource.columns)
        if missing:
            raise InputDataError(
                f"A user resource needs columns 'ligand' and 'receptor' (missing: {sorted(missing)}); "
                "join complex subunits with '_', e.g. 'ITGA4_ITGB1'."
            )
        table = resource.copy()
        table["ligand_complex"] = table.get("ligand_complex", table["ligand"])
        table["receptor_complex"] = table.get("receptor_complex", table["receptor"])
        return _finish(table, "user")
    return _load_cached(resource).copy()
