"""The signature library: provenance on every set, user formats, bad sets."""

from __future__ import annotations

import pytest

from neurosig.errors import InputDataError
from neurosig.knowledge import export_gmt, library, read_gmt, resolve

REQUIRED = [
    "AMPAR_subunits",
    "AMPAR_complex_GO0032281",
    "CP_AMPAR_index",
    "NLGN3_axis",
    "BDNF_TrkB",
    "glutamatergic_synapse_GO",
    "neural_interaction_composite",
    "MHC_I_machinery",
    "APM18_Wang2019",
    "MHC_classII_Senbabaoglu2016",
    "PD_L1_axis",
    "IFNG6_Ayers2017",
    "Tcell_exclusion_up_JerbyArnon2018",
    "TGFB_Hallmark",
    "adenosine_axis",
    "Immune_resistance_up_JerbyArnon2018",
    "CYT_Rooney2015",
    "CD8_exhausted_JerbyArnon2018",
    "Treg_JerbyArnon2018",
    "CD8_naive_JerbyArnon2018",
    "MDSC_Wang2016",
    "TAM_M2_TIDE",
    "MgTAM_Muller2017",
    "MoTAM_Muller2017",
    "Neftel2019_MES1",
    "Neftel2019_MES2",
    "Neftel2019_AC",
    "Neftel2019_OPC",
    "Neftel2019_NPC1",
    "Neftel2019_NPC2",
    "Neftel2019_G1S",
    "Neftel2019_G2M",
    "marker_Astrocytes",
]


def test_library_has_the_required_sets_with_provenance():
    lib = library()
    assert set(REQUIRED) <= set(lib)
    for sig in lib.values():
        assert sig.citation and sig.read_from and sig.date and sig.category, sig.id


def test_calcium_permeable_index_is_signed():
    sig = library()["CP_AMPAR_index"]
    assert sig.weights == {"GRIA1": 1.0, "GRIA3": 1.0, "GRIA4": 1.0, "GRIA2": -1.0}
    assert "No published list" in sig.notes


def test_outdated_neftel_symbols_renamed_and_recorded():
    mes1 = library()["Neftel2019_MES1"]
    assert mes1.renamed_symbols == {"C8orf4": "TCIM"}
    assert "TCIM" in mes1.weights and "C8orf4" not in mes1.weights
    g2m = library()["cellcycle_G2M_Tirosh2016"]
    assert g2m.renamed_symbols["HN1"] == "JPT1" and "JPT1" in g2m.weights and "HN1" not in g2m.weights


def test_user_formats_roundtrip(tmp_path):
    gmt = export_gmt(tmp_path / "lib.gmt")
    sigs = read_gmt(gmt)
    assert {s.id for s in sigs} == set(library())
    yaml_path = tmp_path / "mine.yaml"
    yaml_path.write_text("my_set: [GFAP, AQP4, SLC1A3]\nsigned: {GRIA1: 1, GRIA2: -1}\n")
    mine = resolve(yaml_path)
    assert [s.id for s in mine] == ["my_set", "signed"] and mine[1].signed
    assert resolve({"x": ["A", "B"]})[0].weights == {"A": 1.0, "B": 1.0}


def test_bad_signatures():
    with pytest.raises(InputDataError, match="Did you mean: MHC_I_machinery"):
        resolve(["MHC_I_machinry"])
    with pytest.raises(InputDataError, match="twice"):
        resolve({"dup": ["GFAP", "GFAP"]})
    with pytest.raises(InputDataError, match="no genes"):
        resolve({"empty": []})
