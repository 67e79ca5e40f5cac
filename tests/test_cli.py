"""The command line, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import anndata as ad
import numpy as np
import pandas as pd
from click.testing import CliRunner

from neurosig.cli import main

from .conftest import needs_mirror


def test_datasets_list_json():
    result = CliRunner().invoke(main, ["datasets", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) >= 14
    states = {r["verification"] for r in rows}
    assert states == {"verified_here", "checksum_published", "unverified"}


def test_datasets_list_table_shows_missing_counts_blank():
    # a dataset without a published cell count (an Int64 NA) must not break the table
    result = CliRunner().invoke(main, ["datasets", "list"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.split()[0] == "pombo_antunes2021_myeloid")
    assert "<NA>" not in line and "nan" not in line


def test_unknown_dataset_is_one_clear_line():
    result = CliRunner().invoke(main, ["datasets", "info", "neftel2019_mgh13"])
    assert result.exit_code == 2
    assert "Unknown dataset id 'neftel2019_mgh13'" in result.output and "neftel2019_mgh136" in result.output


def test_fetch_offline_names_the_file():
    result = CliRunner().invoke(main, ["datasets", "fetch", "yuan2018_gbm"])
    assert result.exit_code == 2 and "GSE103224_RAW.tar" in result.output and "put it at" in result.output


@needs_mirror
def test_run_tirosh(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["run", "--dataset", "tirosh2016_oligodendroglioma", "--out", str(out), "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    a = ad.read_h5ad(out / "cells.h5ad")
    assert a.n_obs == 184 and a.uns["neurosig"]["dataset_id"] == "tirosh2016_oligodendroglioma"
    summary = pd.read_csv(out / "summary.csv")
    assert summary["total"].sum() == 184 and summary["malignant"].sum() == 142
    assert set(summary["patient"]) == {"MGH36", "MGH53", "MGH54", "MGH93", "MGH97"}
    qc = pd.read_csv(out / "qc.csv")
    assert qc["n_cells"].sum() == 184 and (qc["genes_per_cell_median"] > 1000).all()
    by_patient = pd.read_csv(out / "scores_by_patient.csv")
    assert {"MHC_I_machinery", "Neftel2019_OPC"} <= set(by_patient["signature"])
    assert a.obsm["neurosig_score_genes"].shape[0] == 184 and "neftel_state" in a.obs
    assert a.uns["neurosig"]["run_parameters"]["seed"] == 0
    inter = pd.read_csv(out / "interactions.csv")
    assert {"sender", "receiver", "lr_means", "pvalue", "qvalue", "claim"} <= set(inter.columns)
    assert {"malignant", "myeloid", "oligodendrocyte"} == set(inter["sender"])
    assert set(pd.read_csv(out / "interactions_by_patient.csv")["sample"]) == {"MGH36", "MGH53", "MGH54"}
    assert (out / "axis_diagram.png").stat().st_size > 1000
    evidence = pd.read_csv(out / "evidence.csv")
    assert set(evidence["dataset"]) == {"tirosh2016_oligodendroglioma", "pooled"}
    assert evidence["claim"].nunique() == len(evidence) // 2 >= 24
    assert (evidence["verdict"] == "not testable").any() and evidence["reason"].notna().any()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["outputs"]["summary.csv"] and prov["versions"]["scanpy"]
    assert (
        prov["source"] == {"dataset": "tirosh2016_oligodendroglioma"}
        and prov["parameters"]["n_perms"] == 1000
    )
    # every other output is listed with its hash: provenance.json, written last, marks a complete run
    assert set(prov["outputs"]) == {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} - {
        "provenance.json"
    }
    scores = pd.read_parquet(out / "patient_scores.parquet")
    assert list(scores["patient"]) == ["MGH36", "MGH53", "MGH54", "MGH93", "MGH97"]
    assert scores["n_cells"].sum() == 184 and (scores["n__malignant"] == summary["malignant"]).all()
    assert (out / "report.html").stat().st_size > 100_000
    assert not list(out.glob("*.part")) and not list(out.glob(".*"))


def test_run_user_input(tmp_path):
    from neurosig.datasets import load

    src = load("tirosh2016_oligodendroglioma_infercnvpy")
    user = ad.AnnData(X=src.layers["tpm"], obs=src.obs[["patient"]].astype(str), var=src.var[[]])
    user.write_h5ad(tmp_path / "mine.h5ad")
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--input",
            str(tmp_path / "mine.h5ad"),
            "--patient-key",
            "patient",
            "--value-type",
            "tpm",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    # no labels given: run annotates by markers and copy number
    summary = pd.read_csv(tmp_path / "o" / "summary.csv")
    assert summary["total"].sum() == 184 and summary["malignant"].sum() == 142
    cells = ad.read_h5ad(tmp_path / "o" / "cells.h5ad")
    assert set(cells.obs["cell_type_source"]) == {"markers", "cnv"}
    result = CliRunner().invoke(
        main, ["run", "--input", str(tmp_path / "mine.h5ad"), "--out", str(tmp_path / "o2")]
    )
    assert result.exit_code != 0 and "--patient-key" in result.output


def test_simulate_command(tmp_path):
    out = tmp_path / "sim.h5ad"
    args = [
        "simulate",
        "--out",
        str(out),
        "--n-patients",
        "3",
        "--n-cells",
        "150",
        "--n-genes",
        "300",
        "--seed",
        "3",
        "--mhc-effect",
        "-0.5",
        "--composition-effect",
        "T_CD8=-1",
        "--lr-effect",
        "CD274:PDCD1:malignant:T_CD8:1.5",
        "--no-progress",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    a = ad.read_h5ad(out)
    truth = a.uns["neurosig"]["simulation"]["truth"]
    assert a.n_obs == 150 and truth["effects"]["mhc_effect"] == -0.5
    assert "CD274->PDCD1" in truth["lr_effects"] and truth["effects"]["composition_effects"]["T_CD8"] == -1
    bad = CliRunner().invoke(
        main, ["simulate", "--out", str(tmp_path / "x.h5ad"), "--n-patients", "10", "--n-cells", "5"]
    )
    assert bad.exit_code == 2 and "More patients" in bad.output


def test_signatures_commands(tmp_path):
    result = CliRunner().invoke(main, ["signatures", "list", "--format", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert any(r["id"] == "CP_AMPAR_index" and r["signed"] for r in rows)
    shown = json.loads(CliRunner().invoke(main, ["signatures", "show", "MHC_I_machinery"]).output)
    assert shown["genes"] == ["HLA-A", "HLA-B", "HLA-C", "B2M", "TAP1", "TAP2", "TAPBP"]
    out = tmp_path / "lib.gmt"
    assert CliRunner().invoke(main, ["signatures", "export", "--gmt", str(out)]).exit_code == 0
    assert len(out.read_text().splitlines()) == len(rows)
    bad = CliRunner().invoke(main, ["signatures", "show", "MHC_I"])
    assert bad.exit_code == 2 and "Unknown signature id" in bad.output


def test_score_command(tmp_path):
    out = tmp_path / "scored.h5ad"
    args = [
        "score",
        "tirosh2016_oligodendroglioma_infercnvpy",
        "--out",
        str(out),
        "--signatures",
        "MHC_I_machinery,APM18_Wang2019",
        "--method",
        "aucell",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    a = ad.read_h5ad(out)
    assert list(a.obsm["neurosig_aucell"].columns) == ["MHC_I_machinery", "APM18_Wang2019"]


def test_annotate_command(tmp_path):
    from neurosig.datasets import load

    src = load("tirosh2016_oligodendroglioma_infercnvpy")
    src.obs["cell_type"] = pd.Categorical(
        ["unknown"] * src.n_obs, categories=src.obs["cell_type"].cat.categories
    )
    src.write_h5ad(tmp_path / "in.h5ad")
    out = tmp_path / "annotated.h5ad"
    result = CliRunner().invoke(main, ["annotate", str(tmp_path / "in.h5ad"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    a = ad.read_h5ad(out)
    assert (a.obs["cell_type"] == "malignant").sum() == 142 and "cnv 142" in result.output


def test_run_seed_reaches_scoring(tmp_path):
    out = tmp_path / "s7"
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--dataset",
            "tirosh2016_oligodendroglioma_infercnvpy",
            "--out",
            str(out),
            "--seed",
            "7",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    a = ad.read_h5ad(out / "cells.h5ad")
    assert a.uns["neurosig"]["run_parameters"]["seed"] == 7
    assert a.uns["neurosig"]["scores"]["neurosig_score_genes"]["random_state"] == 7
    # a second run with the same seed: byte-identical outputs (only provenance.json has a clock)
    again = tmp_path / "s7again"
    result = CliRunner().invoke(
        main,
        ["run", "--dataset", "tirosh2016_oligodendroglioma_infercnvpy", "--out", str(again), "--seed", "7"],
    )
    assert result.exit_code == 0, result.output
    for stage in ("harmonise", "annotate", "score", "communicate", "test", "export"):
        assert f"{stage} done in" in result.output  # progress, one line per stage
    assert f"files in {again.resolve()}" in result.output
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file() and p.name != "provenance.json")
    assert len(files) >= 20
    assert [f for f in files if (out / f).read_bytes() != (again / f).read_bytes()] == []


@needs_mirror
def test_communicate_command(tmp_path):
    out = tmp_path / "comm"
    result = CliRunner().invoke(
        main,
        ["communicate", "tirosh2016_oligodendroglioma", "--out", str(out), "--n-perms", "100", "--seed", "5"],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "interactions.csv")
    assert len(table) > 500 and table["pvalue"].between(0, 1).all()
    cp = pd.read_csv(out / "cp_ampar.csv")
    assert set(cp["group"]) == {"malignant", "myeloid", "oligodendrocyte"}
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["parameters"]["seed"] == 5 and prov["parameters"]["n_perms"] == 100
    assert prov["versions"]["liana"] and prov["outputs"]["interactions.csv"]
    meta = json.loads((out / "communication.json").read_text())
    assert meta["resource_files"]["interaction_input.csv"].startswith("3cf0ceac")
    assert set(meta["skipped_samples"]) == {"MGH93", "MGH97"}
    assert prov["parameters"]["rules"] == "cellphonedb" and table["pvalue"].min() >= 1 / 101 - 1e-8
    liana = CliRunner().invoke(
        main,
        ["communicate", "tirosh2016_oligodendroglioma", "--out", str(tmp_path / "l"), "--n-perms", "100"]
        + ["--rules", "liana"],
    )
    assert liana.exit_code == 0, liana.output
    assert json.loads((tmp_path / "l" / "provenance.json").read_text())["parameters"]["rules"] == "liana"
    bad = CliRunner().invoke(
        main, ["communicate", "tirosh2016_oligodendroglioma", "--out", str(out), "--groupby", "x"]
    )
    assert bad.exit_code != 0 and "'x' is not in .obs" in bad.output


@needs_mirror
def test_test_command_pools_two_datasets(tmp_path):
    out = tmp_path / "ev"
    # the same 184 cells twice (the manifest's overlaps) are refused before any work
    same = CliRunner().invoke(
        main,
        [
            "test",
            "tirosh2016_oligodendroglioma",
            "tirosh2016_oligodendroglioma_infercnvpy",
            "--out",
            str(out),
        ],
    )
    assert same.exit_code != 0 and "share cells" in same.output and not out.exists()
    result = CliRunner().invoke(
        main,
        ["test", "tirosh2016_oligodendroglioma", "neftel2019_mgh136", "--out", str(out), "--n-perms", "100"],
    )
    assert result.exit_code == 0, result.output
    ev = pd.read_csv(out / "evidence.csv")
    assert set(ev["dataset"]) == {"tirosh2016_oligodendroglioma", "neftel2019_mgh136", "pooled"}
    a1 = ev[(ev["claim"] == "A1") & (ev["dataset"] == "pooled")].iloc[0]
    # MGH136 is one patient: A1 is tested on Tirosh alone, carried over to the pooled row
    assert "one testable dataset (tirosh2016_oligodendroglioma)" in a1["reason"]
    assert a1["verdict"] in {"supported", "contradicted", "inconclusive", "negligible"}
    assert (out / "forest" / "A1.png").is_file()
    a4 = ev[ev["claim"] == "A4"]
    assert (a4["verdict"] == "not testable").all() and a4["reason"].str.contains("PI3K").all()
    bad = CliRunner().invoke(
        main, ["test", "tirosh2016_oligodendroglioma", "--out", str(out), "--only", "Z9"]
    )
    assert bad.exit_code != 0 and "Unknown claim ids" in bad.output


def _neurosig(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """The installed command as a user runs it (warnings reach the terminal as they would)."""
    return subprocess.run(
        [sys.executable, "-m", "neurosig", *args], capture_output=True, text=True, cwd=cwd, env=os.environ
    )


def test_published_user_h5ad_runs_to_the_end_and_owns_its_folder(published_h5ad, tmp_path):
    """100 cells x 2,000 genes, dense log2(TPM/10+1), the authors' labels: to the end.

    Before: the dense X crashed without --value-type (memoryview); unmapped labels and the
    57 refused signatures went unmentioned; every file was mode 0600; a rerun left the
    older run's files beside the new ones.
    """
    out = tmp_path / "out"
    user = ["run", "--input", str(published_h5ad), "--patient-key", "donor", "--label-key", "celltype"]
    result = CliRunner().invoke(main, [*user, "--out", str(out), "--no-progress"])
    assert result.exit_code == 2 and "--value-type" in result.output and "Traceback" not in result.output
    args = [*user, "--value-type", "log2_tpm10", "--n-perms", "50", "--no-progress"]
    result = _neurosig(*args, "--out", str(out))
    assert result.returncode == 0, result.stderr
    said = result.stderr
    assert "warning: tirosh_user: 4 author labels map to no cell type (malignant_93" in said
    assert "signatures not scored: too few of their genes are in the data (2,000 genes" in said
    html = (out / "report.html").read_text()
    top = html[html.index('<section id="notices">') : html.index('<section id="summary">')]
    assert "malignant_MGH36" in top and "signatures not scored" in top
    cells = ad.read_h5ad(out / "cells.h5ad")
    assert cells.n_obs == 100 and set(cells.obs["cell_type_source"]) <= {"author", "markers", "cnv"}
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    prov = json.loads((out / "provenance.json").read_text())
    assert set(prov["outputs"]) == files - {"provenance.json"}
    umask = os.umask(0)
    os.umask(umask)
    assert {oct(p.stat().st_mode & 0o777) for p in out.rglob("*") if p.is_file()} == {oct(0o666 & ~umask)}

    # an older run's plot, listed by its provenance: the next run into the folder removes it
    (out / "forest").mkdir(exist_ok=True)
    (out / "forest" / "C99.png").write_bytes(b"old")
    prov["outputs"]["forest/C99.png"] = "0"
    (out / "provenance.json").write_text(json.dumps(prov))
    result = CliRunner().invoke(main, ["stage", "export", str(out / "cells.h5ad"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not (out / "forest" / "C99.png").exists()
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert set(json.loads((out / "provenance.json").read_text())["outputs"]) == files - {"provenance.json"}

    # another program's file: refused before any work
    (out / "my_notes.txt").write_text("mine")
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 2 and "my_notes.txt" in result.output and "[1/6]" not in result.output
    assert (out / "provenance.json").exists()


def test_bad_out_and_n_perms_are_refused_before_the_pipeline(published_h5ad, tmp_path):
    """An --out under a file failed only after the whole pipeline ran; --n-perms -5 gave p = 0."""
    (tmp_path / "afile").write_text("x")
    args = ["run", "--input", str(published_h5ad), "--patient-key", "donor", "--value-type", "log2_tpm10"]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "afile" / "o")])
    assert result.exit_code == 2 and "afile is a file" in result.output and "[1/6]" not in result.output
    for n in ("-5", "1"):
        result = CliRunner().invoke(main, [*args, "--n-perms", n, "--out", str(tmp_path / "o")])
        assert result.exit_code == 2 and "at least 2" in result.output and "[1/6]" not in result.output


def test_analysis_commands_refuse_an_unharmonised_h5ad(published_h5ad, tmp_path):
    """`annotate` crashed (integer bins ... infinity) and `score`/`communicate` read linear or
    published-log values as log-normalised (scores up to 1,294)."""
    for command in (["annotate"], ["score"], ["communicate"]):
        out = tmp_path / ("c" if command == ["communicate"] else "x.h5ad")
        result = CliRunner().invoke(main, [*command, str(published_h5ad), "--out", str(out)])
        assert result.exit_code == 2, (command, result.output)
        assert "not in neurosig's schema" in result.output and "neurosig stage harmonise" in result.output
    harmonised = tmp_path / "h.h5ad"
    result = CliRunner().invoke(
        main,
        ["stage", "harmonise", "--input", str(published_h5ad), "--patient", "MGH_x", "--value-type"]
        + ["log2_tpm10", "--out", str(harmonised)],
    )
    assert result.exit_code == 0 and "1 patients" in result.output, result.output
    a = ad.read_h5ad(harmonised)
    a.X = a.layers["tpm"]  # X replaced by linear values after harmonising
    a.write_h5ad(harmonised)
    result = CliRunner().invoke(main, ["score", str(harmonised), "--out", str(tmp_path / "y.h5ad")])
    assert result.exit_code == 2 and "X was replaced after harmonising" in result.output


def test_ensembl_ids_can_be_read_with_the_options_the_advice_names(published_h5ad, tmp_path):
    """The Ensembl-id error advertised --symbol-column and --map-ensembl, which did not exist."""
    user = ad.read_h5ad(published_h5ad)
    user.var["feature_symbol"] = user.var_names.to_numpy()
    user.var_names = [f"ENSG{i:011d}" for i in range(user.n_vars)]
    user.write_h5ad(tmp_path / "ens.h5ad")
    base = ["stage", "harmonise", "--input", str(tmp_path / "ens.h5ad"), "--patient-key", "donor"]
    base += ["--value-type", "log2_tpm10", "--out", str(tmp_path / "h.h5ad")]
    result = CliRunner().invoke(main, base)
    assert result.exit_code == 2 and "--symbol-column" in result.output and "--map-ensembl" in result.output
    result = CliRunner().invoke(main, [*base, "--symbol-column", "feature_symbol"])
    assert result.exit_code == 0, result.output
    assert "HLA-A" in ad.read_h5ad(tmp_path / "h.h5ad").var_names
    result = CliRunner().invoke(main, [*base, "--map-ensembl"])  # made-up ids map to nothing, but run
    assert result.exit_code == 0, result.output


def test_test_on_a_bulk_h5ad_runs_the_bulk_claims_without_communication(tmp_path):
    from tests.claims.bulk_inputs import simulated_cohort

    a = simulated_cohort(60, 0, effect=-1.0, key="neurosig_ssgsea")  # the claims' default score key
    path = tmp_path / "bulk.h5ad"
    a.write_h5ad(path)
    result = CliRunner().invoke(
        main, ["test", str(path), "--out", str(tmp_path / "ev"), "--only", "B1_bulk,S1"]
    )
    assert result.exit_code == 0, result.output
    ev = pd.read_csv(tmp_path / "ev" / "evidence.csv")
    assert set(ev["claim"]) == {"B1_bulk", "S1"} and set(ev["data_type"]) == {"bulk"}
    row = ev[(ev["claim"] == "B1_bulk") & (ev["dataset"] == "sim0")].iloc[0]
    assert row["verdict"] == "supported" and "purity" in row["adjusted_for"]


def test_a_user_h5ad_without_its_patient_is_one_line(tmp_path):
    """`stage harmonise --input` with no patient (or with --dataset too) gave a ValueError traceback."""
    path = tmp_path / "u.h5ad"
    ad.AnnData(np.ones((3, 4), dtype=np.float32)).write_h5ad(path)
    for extra in ([], ["--dataset", "tirosh2016_oligodendroglioma", "--patient-key", "x"]):
        result = CliRunner().invoke(
            main, ["stage", "harmonise", "--input", str(path), *extra, "--out", str(tmp_path / "h.h5ad")]
        )
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert "--patient-key" in result.output or "not both" in result.output
