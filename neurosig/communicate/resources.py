"""Ligand-receptor resources, read offline from verified files.

Every resource becomes one table with a row per interaction:

``ligand``, ``receptor``
    Gene symbols; subunits of a complex joined by ``_`` (liana's convention),
    e.g. ``GLS_SLC17A7`` for glutamate released through VGLUT1.
``ligand_complex``, ``receptor_complex``
    The resource's own name of each partner (a complex name such as
    ``Glutamate_byGLS_and_SLC17A7``, or the gene symbol for a single protein). Names
    are unique per partner: a CellPhoneDB complex named like a gene (``GALR1``, the
    GALR1 + GPR151 receptor) is named by its subunits joined by ``+``
    (``GALR1+GPR151``, as CellPhoneDB's ``interactors`` column writes it), so that it
    stays apart from the single protein GALR1.
``ligand_id``, ``receptor_id``
    The partner ids the table is keyed on: for CellPhoneDB, ``simple:<UniProt>`` or
    ``complex:<complex_name>`` exactly as ``cellphonedb`` writes ``partner_a`` and
    ``partner_b``; for other resources, the partner's name. Every interaction of the
    resource is one row (CellPhoneDB v5: all 2,911 of ``interaction_input.csv``).
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
from ..knowledge.axis import claim_ids, metabolite_name, sender_proxy

RESOURCE_COLUMNS = [
    "ligand",
    "receptor",
    "ligand_complex",
    "receptor_complex",
    "ligand_id",
    "receptor_id",
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
    symbols = set(genes["gene_name"].dropna())

    def members(row: pd.Series) -> list[str] | None:
        ids = [row[c] for c in subunit_cols if isinstance(row[c], str)]
        units = [uniprot_to_gene.get(u) for u in ids]
        return None if any(s is None for s in units) else units

    complex_units = complexes.set_index("complex_name").apply(members, axis=1)

    def partner(pid: str) -> tuple[str | None, str, str]:
        """(gene units joined by '_', unique name, CellPhoneDB partner id) of one partner."""
        if pid in complex_units.index:
            units = complex_units[pid]
            if units is None:
                return None, pid, f"complex:{pid}"
            # a complex named like a gene (GALR1 = GALR1 + GPR151) is named by its subunits
            name = "+".join(units) if pid in symbols else pid
            return "_".join(units), name, f"complex:{pid}"
        symbol = uniprot_to_gene.get(pid)
        return symbol, symbol if symbol is not None else pid, f"simple:{pid}"

    a = [partner(p) for p in interactions["partner_a"]]
    b = [partner(p) for p in interactions["partner_b"]]
    out = pd.DataFrame(
        {
            "ligand": [u for u, _, _ in a],
            "receptor": [u for u, _, _ in b],
            "ligand_complex": [n for _, n, _ in a],
            "receptor_complex": [n for _, n, _ in b],
            "ligand_id": [i for _, _, i in a],
            "receptor_id": [i for _, _, i in b],
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
    """Add the derived columns (kind, resource, axis claim, sender proxy); one row per partner pair."""
    table = table.copy()
    table["ligand_complex"] = table["ligand_complex"].astype(str)
    table["receptor_complex"] = table["receptor_complex"].astype(str)
    for side in ("ligand", "receptor"):
        if f"{side}_id" not in table:
            table[f"{side}_id"] = table[f"{side}_complex"]
    table = table.drop_duplicates(["ligand_id", "receptor_id"]).reset_index(drop=True)
    clash = table.duplicated(["ligand_complex", "receptor_complex"], keep=False)
    if clash.any():
        rows = table.loc[clash, ["ligand_id", "receptor_id", "ligand_complex", "receptor_complex"]]
        raise InputDataError(
            f"{resource_id}: {int(clash.sum())} interactions with different partner ids share a "
            f"ligand_complex/receptor_complex name (e.g. {rows.head(4).to_dict('records')}); "
            "give each partner a unique name."
        )
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
