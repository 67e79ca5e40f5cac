"""Pooling run folders: evidence across datasets, every patient's scores, the pooled report."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from neurosig.errors import InputDataError
from neurosig.export import pool_runs
from neurosig.pipeline import run

from ..conftest import E2E_PERMS, needs_mirror


@needs_mirror
def test_two_datasets_pool(default_run, tmp_path):
    second = tmp_path / "darmanis2015_brain"
    run(second, dataset="darmanis2015_brain", n_perms=E2E_PERMS, progress=False)
    paths = pool_runs([default_run, second], tmp_path / "pooled")
    evidence = pd.read_csv(paths["evidence.csv"])
    first = pd.read_csv(default_run / "evidence.csv")
    assert set(evidence["dataset"]) == {first["dataset"][0], "darmanis2015_brain", "pooled"}
    assert (evidence["dataset"] == "pooled").sum() == first["claim"].nunique()  # one pooled row per claim
    # a claim testable in both datasets is pooled over two; in one only, it keeps that one's estimate
    both = (
        evidence[evidence["dataset"] != "pooled"]
        .groupby("claim")["verdict"]
        .apply(lambda v: (v != "not testable").sum())
    )
    pooled = evidence[evidence["dataset"] == "pooled"].set_index("claim")
    for claim, n in both.items():
        if n == 0:
            assert pooled.loc[claim, "verdict"] == "not testable"
    scores = pd.read_parquet(paths["patient_scores.parquet"])
    one, two = (pd.read_parquet(d / "patient_scores.parquet") for d in (default_run, second))
    assert len(scores) == len(one) + len(two) and list(scores.columns) == list(one.columns) == list(
        two.columns
    )
    summary = pd.read_csv(paths["summary.csv"])
    assert summary["total"].sum() == scores["n_cells"].sum()
    assert (summary.drop(columns=["dataset", "patient"]) >= 0).all().all()  # absent types: 0, not NaN
    html = paths["report.html"].read_text()
    assert '<section id="evidence">' in html and '<section id="summary">' not in html
    assert 'alt="verdict matrix"' in html  # several datasets: the matrix opens the evidence section
    # then a plain-language answer per tested claim, from its pooled row
    start = html.index('<ul class="answers">')
    answers = html[start : html.index("</ul>", start)]
    tested = pooled[pooled["verdict"] != "not testable"]
    assert answers.count("<li>") == len(tested) > 0
    for claim, row in tested.iterrows():
        assert f"<b>{claim}</b>" in answers and f"{row['effect']:+.2f} [" in answers
    assert set(evidence["data_type"]) == {"single_cell"}
    prov = json.loads(paths["provenance.json"].read_text())
    assert set(prov["run_provenance_sha256"]) == {default_run.name, second.name}
    # the runs' provenance.json holds a clock: its hash must not reach files that should be byte-stable
    for sha in prov["run_provenance_sha256"].values():
        assert sha not in html and sha not in paths["patient_scores.schema.json"].read_text()
    # pooling the same runs again: byte-identical tables, data dictionary and report
    again = pool_runs([default_run, second], tmp_path / "again")
    for name, path in paths.items():
        if name != "provenance.json":
            assert again[name].read_bytes() == path.read_bytes(), name


def test_unfinished_runs_are_refused(tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "evidence.csv").write_text("dataset,claim\n")
    with pytest.raises(InputDataError, match="did not finish"):
        pool_runs([tmp_path / "half"], tmp_path / "out")
