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
    # 2,911 curated rows, 6 of them repeat a partner pair
    assert len(res) == 2905
    glu = res[res["ligand_complex"] == "Glutamate_byGLS_and_SLC17A7"]
    assert set(glu["ligand"]) == {"SLC17A7_GLS"}
    assert {"GRIA1", "GRIA2", "GRIA3", "GRIA4"} <= set(glu["receptor"])
    assert (glu["ligand_kind"] == "metabolite").all()
    ne = res[res["ligand_complex"].str.startswith("Noradrenaline_by")]
    assert "ADRB2" in set(ne["receptor"])
    il1 = res[(res["ligand"] == "IL1B")]
    assert "IL1R1_IL1RAP" in set(il1["receptor"])  # heteromeric receptor kept as a complex
    assert res.loc[res["ligand"] == "CD274", "receptor"].isin(["PDCD1"]).any()


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
