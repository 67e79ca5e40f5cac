"""Resources: CellPhoneDB v5 from the verified mirror, liana's consensus from its wheel."""

from __future__ import annotations

import pandas as pd
import pytest

from neurosig.communicate.resources import RESOURCE_COLUMNS, load_resource, metabolite_name
from neurosig.errors import HashMismatchError, InputDataError

from ..conftest import needs_mirror


@needs_mirror
def test_cellphonedb_v5_table_has_metabolites_as_enzyme_transporter_complexes():
    res = load_resource("cellphonedb_v5")
    assert list(res.columns) == RESOURCE_COLUMNS
    # every one of the 2,911 curated interactions, keyed on CellPhoneDB's partner ids
    assert len(res) == 2911
    assert not res.duplicated(["ligand_id", "receptor_id"]).any()
    assert not res.duplicated(["ligand_complex", "receptor_complex"]).any()
    glu = res[res["ligand_complex"] == "Glutamate_byGLS_and_SLC17A7"]
    assert set(glu["ligand"]) == {"SLC17A7_GLS"}
    assert {"GRIA1", "GRIA2", "GRIA3", "GRIA4"} <= set(glu["receptor"])
    assert (glu["ligand_kind"] == "metabolite").all()
    ne = res[res["ligand_complex"].str.startswith("Noradrenaline_by")]
    assert "ADRB2" in set(ne["receptor"])
    il1 = res[(res["ligand"] == "IL1B")]
    assert "IL1R1_IL1RAP" in set(il1["receptor"])  # heteromeric receptor kept as a complex
    assert res.loc[res["ligand"] == "CD274", "receptor"].isin(["PDCD1"]).any()


@needs_mirror
def test_galanin_receptors_alone_and_with_gpr151_are_distinct_interactions():
    # CellPhoneDB v5 names the GALR1 + GPR151 complex "GALR1", like the protein GALR1;
    # naming single proteins by symbol once dropped the complex rows as duplicates.
    res = load_resource("cellphonedb_v5")
    gal = res[res["ligand"].isin(["GAL", "GALP"])]
    pairs = set(zip(gal["ligand"], gal["receptor"], strict=True))
    for lig in ("GAL", "GALP"):
        for r in ("GALR1", "GALR2", "GALR3"):
            assert (lig, r) in pairs and (lig, f"{r}_GPR151") in pairs
    row = gal[(gal["ligand"] == "GAL") & (gal["receptor"] == "GALR1_GPR151")].iloc[0]
    assert (row["ligand_id"], row["receptor_id"]) == ("simple:P22466", "complex:GALR1")
    assert row["receptor_complex"] == "GALR1+GPR151"
    single = gal[(gal["ligand"] == "GAL") & (gal["receptor"] == "GALR1")].iloc[0]
    assert (single["receptor_id"], single["receptor_complex"]) == ("simple:P47211", "GALR1")
    # complexes named otherwise keep CellPhoneDB's name
    assert (res["ligand_id"] == "complex:Glutamate_byGLS_and_SLC17A7").any()


def test_user_partner_names_that_clash_are_refused():
    table = pd.DataFrame(
        {
            "ligand": ["A", "A"],
            "receptor": ["B", "B_C"],
            "receptor_complex": ["B", "B"],
            "receptor_id": ["simple:B", "complex:B"],
        }
    )
    with pytest.raises(InputDataError, match="unique name"):
        load_resource(table)


def test_liana_consensus_equals_liana_select_resource():
    li = pytest.importorskip("liana")
    ours = load_resource("liana_consensus")
    ref = li.resource.select_resource("consensus")
    assert (
        ours[["ligand", "receptor"]]
        .reset_index(drop=True)
        .equals(ref.drop_duplicates().reset_index(drop=True))
    )


@needs_mirror
def test_a_corrupt_resource_file_is_refused(tmp_path, monkeypatch):
    from neurosig.communicate import resources

    bad = tmp_path / "cellphonedb_v5"
    bad.mkdir()
    for name in ("interaction_input.csv", "complex_input.csv", "gene_input.csv"):
        (bad / name).write_text("partner_a,partner_b\nA,B\n")
    monkeypatch.setenv("NEUROSIG_MIRRORS", str(tmp_path))
    resources._load_cached.cache_clear()
    try:
        with pytest.raises(HashMismatchError, match="sha256"):
            load_resource("cellphonedb_v5")
    finally:
        resources._load_cached.cache_clear()


def test_user_resource_needs_ligand_and_receptor_columns():
    with pytest.raises(InputDataError, match="'ligand' and 'receptor'"):
        load_resource(pd.DataFrame({"source": ["A"], "target": ["B"]}))
    table = load_resource(pd.DataFrame({"ligand": ["CD274"], "receptor": ["PDCD1"]}))
    assert table.loc[0, "resource"] == "user" and table.loc[0, "ligand_kind"] == "protein"


def test_metabolite_names():
    assert metabolite_name("Glutamate_byGLS_and_SLC17A7") == "Glutamate"
    assert metabolite_name("ProstaglandinE2_byPTGES") == "ProstaglandinE2"
    assert metabolite_name("integrin_a2b1_complex") is None
    assert metabolite_name("CD274") is None
