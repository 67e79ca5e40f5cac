"""Per-patient scores on a tiny hand-made AnnData: every value checked by hand."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from neurosig.errors import InputDataError
from neurosig.export import data_dictionary, neural_immune_index, patient_scores, write_patient_scores
from neurosig.knowledge import patient_score_spec


def _toy() -> ad.AnnData:
    # P1: 3 malignant (MES, AC, AC) + 1 CD8 T + 1 sorted-gate macrophage; P2: 2 malignant + 1 microglia;
    # P3: 2 oligodendrocytes, no malignant cell
    types = (
        ["malignant"] * 3
        + ["T_CD8", "macrophage"]
        + ["malignant"] * 2
        + ["microglia"]
        + ["oligodendrocyte"] * 2
    )
    patients = ["P1"] * 5 + ["P2"] * 3 + ["P3"] * 2
    obs = pd.DataFrame(
        {
            "dataset": "toy",
            "patient": patients,
            "cell_type": types,
            "neftel_state": ["MES", "AC", "AC", "NA", "NA", "OPC", "NPC", "NA", "NA", "NA"],
            "sort_gate": ["", "", "", "", "CD45pos", "", "", "", "", ""],
        },
        index=[f"c{i}" for i in range(10)],
    )
    a = ad.AnnData(np.zeros((10, 2), dtype=np.float32), obs=obs)
    a.obsm["neurosig_score_genes"] = pd.DataFrame(
        {
            "neural_interaction_composite": [1.0, 2.0, 6.0, 9, 9, 0.0, 1.0, 9, 9, 9],
            "MHC_I_machinery": [0.5, 0.5, 0.5, 9, 9, 1.0, 2.0, 9, 9, 9],
            "CYT_Rooney2015": [0, 0, 0, 3.0, 0, 0, 0, 0, 0, 0],
            "TAM_M2_TIDE": [0, 0, 0, 0, 2.0, 0, 0, 4.0, 0, 0],
        },
        index=a.obs_names,
    )
    # C6: malignant -> T cells; C7: Tregs/myeloid -> T cells. A pair listed under both claims
    # counts for a claim only between that claim's own cell types.
    per = pd.DataFrame(
        {
            "sample": ["P1", "P1", "P1", "P2"],
            "sender": ["malignant", "malignant", "macrophage", "oligodendrocyte"],
            "receiver": ["T_CD8", "T_CD8", "T_CD8", "T_CD8"],
            "on_axis": [True, True, True, False],
            "claim": ["C6", "C6;C7", "C6;C7", "C6"],
            "lr_means": [0.3, 0.7, 0.5, 5.0],
        }
    )
    # the groups tested per patient (as cellphonedb_by_sample records them): P2's table
    # has both C6 sides, so no C6 row there means 0; P3 was tested without T cells
    groups = {
        "P1": {"malignant": 3, "T_CD8": 1, "macrophage": 1},
        "P2": {"malignant": 2, "oligodendrocyte": 1, "T_CD8": 1},
        "P3": {"oligodendrocyte": 2, "malignant": 1},
    }
    a.uns["neurosig"] = {"communication": {"by_sample": per, "groups_by_sample": groups}}
    return a


def test_counts_fractions_and_compartment_summaries():
    t = patient_scores(_toy()).set_index("patient")
    assert list(t.index) == ["P1", "P2", "P3"]  # P3 without malignant cells keeps its row
    assert t.loc["P1", "n_cells"] == 5 and t.loc["P1", "n_cells_unsorted"] == 4
    assert t.loc["P1", "n__macrophage"] == 1 and t.loc["P1", "frac__macrophage"] == 0  # sorted gate
    assert t.loc["P1", "frac__malignant"] == pytest.approx(3 / 4)
    assert t.loc["P3", "frac__oligodendrocyte"] == 1 and t.loc["P3", "n__malignant"] == 0
    assert t.loc["P1", "malignant__neural_interaction_composite__mean"] == pytest.approx(3.0)
    assert t.loc["P1", "malignant__neural_interaction_composite__median"] == pytest.approx(2.0)
    assert np.isnan(t.loc["P3", "malignant__neural_interaction_composite__mean"])
    assert t.loc["P1", "T__CYT_Rooney2015__mean"] == 3.0 and t.loc["P1", "T__n_cells"] == 1
    assert t.loc["P2", "myeloid__TAM_M2_TIDE__mean"] == 4.0
    # a library signature that was not scored is a NaN column, not a missing one
    assert t["malignant__APM18_Wang2019__mean"].isna().all()
    assert "T__APM18_Wang2019__mean" not in t  # antigen presentation is summarised in malignant cells only


def test_neftel_fractions_and_axis_strengths():
    t = patient_scores(_toy()).set_index("patient")
    assert t.loc[
        "P1", ["neftel__MES__frac", "neftel__AC__frac", "neftel__OPC__frac"]
    ].tolist() == pytest.approx([1 / 3, 2 / 3, 0])
    assert t.loc["P2", "neftel__NPC__frac"] == 0.5
    assert np.isnan(t.loc["P3", "neftel__MES__frac"])
    assert t.loc["P1", "axis__C6__lr_means"] == 0.7  # strongest on-axis pair
    assert t.loc["P1", "axis__C7__lr_means"] == 0.5  # malignant -> T is not a C7 route
    assert t.loc["P2", "axis__C6__lr_means"] == 0  # tested, the pair is not between C6's cell types
    assert np.isnan(t.loc["P2", "axis__C7__lr_means"])  # no C7 sender (Treg/myeloid): absent, not 0
    assert np.isnan(t.loc["P3", "axis__C6__lr_means"])  # not tested


def test_neural_immune_index_by_hand():
    spec = {
        "min_components": 2,
        "min_patients": 3,
        "components": [{"column": "a", "sign": 1}, {"column": "b", "sign": -1}],
    }
    table = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0, 5.0], "b": [3.0, 2.0, 1.0, np.nan]},
        index=pd.MultiIndex.from_tuples(
            [("d", "p1"), ("d", "p2"), ("d", "p3"), ("e", "q1")], names=["dataset", "patient"]
        ),
    )
    value, n = neural_immune_index(table, spec)
    # z of a in d: -1, 0, 1; -z of b: -1, 0, 1 -> mean -1, 0, 1; e has one patient -> NaN
    assert value.iloc[:3].tolist() == pytest.approx([-1, 0, 1])
    assert np.isnan(value.iloc[3]) and n.tolist() == [2, 2, 2, 0]
    # the bundled index: only components with a column in the table, signs as documented
    assert {
        c["column"].split("__")[0] for c in patient_score_spec()["neural_immune_index"]["components"]
    } <= {
        "malignant",
        "T",
        "myeloid",
    }


def test_toy_index_follows_the_definition():
    t = patient_scores(_toy()).set_index("patient")
    # P3 has no malignant, T or myeloid cells: no component, NaN
    assert t.loc["P3", "neural_immune_index__n_components"] == 0 and np.isnan(
        t.loc["P3", "neural_immune_index"]
    )
    # P1, P2: two malignant components and the myeloid one; T cells only in P1 (z undefined)
    assert t.loc["P1", "neural_immune_index__n_components"] == 3
    z = 1 / np.sqrt(2)  # two values standardised with ddof 1: +-0.7071
    # P1: neural higher (+z), MHC-I lower (-(-z)), M2 lower (-z) -> z / 3
    assert t.loc["P1", "neural_immune_index"] == pytest.approx(z / 3)
    assert t.loc["P2", "neural_immune_index"] == pytest.approx(-z / 3)


def test_missing_scores_is_a_clear_error():
    a = _toy()
    del a.obsm["neurosig_score_genes"]
    with pytest.raises(InputDataError, match="run neurosig.tl.score"):
        patient_scores(a)


def test_written_files_and_dictionary(tmp_path):
    t = patient_scores(_toy())
    paths = write_patient_scores(t, tmp_path, {"seed": 0})
    assert pd.read_parquet(paths["patient_scores.parquet"]).equals(t)
    csv = pd.read_csv(paths["patient_scores.csv"])
    assert list(csv.columns) == list(t.columns) and len(csv) == 3
    schema = json.loads(paths["patient_scores.schema.json"].read_text())
    assert [f["name"] for f in schema["fields"]] == list(t.columns)
    assert all(f["description"] for f in schema["fields"])
    assert schema["provenance"] == {"seed": 0} and schema["primaryKey"] == ["dataset", "patient"]
    kinds = {f["name"]: f["type"] for f in schema["fields"]}
    assert kinds["n_cells"] == "integer" and kinds["neural_immune_index"] == "number"
    assert data_dictionary(t)["neural_immune_index"]["components"][0]["sign"] == 1
