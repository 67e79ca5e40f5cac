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

The files come from ``data_manifest.yaml`` (``resources:``) and are verified by
sha256 on every read, through the same fetcher as the datasets.
"""

from __future__ import annotations

import re
from functools import cache

import pandas as pd

from ..datasets.fetch import fetch_file
from ..datasets.manifest import get_manifest
from ..errors import InputDataError

RESOURCE_COLUMNS = [
    "ligand",
    "receptor",
    "ligand_complex",
    "receptor_complex",
    "ligand_kind",
    "classification",
    "directionality",
    "resource",
]

_METABOLITE = re.compile(r"^(?P<name>[^_]+)_by")


def list_resources() -> list[str]:
    """Ids of the resources in the bundled manifest."""
    return list(get_manifest().resources)


def metabolite_name(complex_name: str) -> str | None:
    """``Glutamate`` for ``Glutamate_byGLS_and_SLC17A7``; None for a protein partner."""
    m = _METABOLITE.match(complex_name)
    return m.group("name") if m else None


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


@cache
def _load_cached(resource_id: str) -> pd.DataFrame:
    entry = get_manifest().resource(resource_id)
    table = _READERS[entry["kind"]](entry)
    table["ligand_kind"] = [
        "metabolite" if metabolite_name(c) else "protein" for c in table["ligand_complex"]
    ]
    table["resource"] = resource_id
    return table[RESOURCE_COLUMNS].drop_duplicates(["ligand_complex", "receptor_complex"])


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
        if "ligand_kind" not in table:
            table["ligand_kind"] = [
                "metabolite" if metabolite_name(str(c)) else "protein" for c in table["ligand_complex"]
            ]
        for col in ("classification", "directionality"):
            table[col] = table.get(col, "")
        table["resource"] = table.get("resource", "user")
        return table[RESOURCE_COLUMNS].drop_duplicates(["ligand_complex", "receptor_complex"])
    return _load_cached(resource).copy()
