"""The Snakemake workflow: its plan, the SLURM profile, dataset keywords, and a killed run resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anndata as ad
import pandas as pd
import pytest
import yaml

from neurosig.datasets import get_manifest
from neurosig.errors import InputDataError, UnknownDatasetError
from neurosig.workflow import (
    dataset_cells,
    load_config,
    resolve_datasets,
    sample_datasets,
    snakemake_command,
    stage_resources,
)

from .conftest import E2E_PERMS, REPO, needs_mirror

pytest.importorskip("snakemake")

NEUROSIG = [sys.executable, "-m", "neurosig"]
STAGES = ["fetch", "harmonise", "annotate", "score", "communicate", "test", "export"]


def _config(tmp_path: Path, **settings) -> Path:
    config = yaml.safe_load((REPO / "workflows" / "config.yaml").read_text())  # the bundled one
    config.update({"datasets": ["default"], "n_perms": E2E_PERMS, "results": "results", **settings})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _workflow(tmp_path: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*NEUROSIG, "workflow", *args], cwd=tmp_path, capture_output=True, text=True, env=os.environ, **kw
    )


@needs_mirror
def test_dry_run_plans_every_stage_of_every_mirrored_dataset(tmp_path):
    result = _workflow(tmp_path, "--config", str(_config(tmp_path, datasets=["available"])), "-n")
    assert result.returncode == 0, result.stderr
    plan = result.stdout
    for dataset in ("tirosh2016_oligodendroglioma", "neftel2019_mgh136", "darmanis2015_brain"):
        assert f"results/{dataset}/provenance.json" in plan and f"results/{dataset}/fetch.json" in plan
    counts = {line.split()[0]: line.split()[1] for line in plan.splitlines() if len(line.split()) == 2}
    # the mirrored bulk and multi-region cohorts (overlapping ones left out) skip annotate,
    # communicate and the single-cell export
    samples = sample_datasets(resolve_datasets(["available"]))
    assert len(samples) >= 16 and "gliovis_pola" not in samples and "hilz_gliomaatlas3d" in samples
    for stage in STAGES:
        expected = 3 if stage in ("annotate", "communicate", "export") else 3 + len(samples)
        assert counts.get(stage) == str(expected), (stage, counts)
    assert counts.get("export_samples") == str(len(samples))
    assert counts.get("pool") == "1"
    assert "benchmarks/" in plan and "logs/" in plan and "mem_mb=8000" in plan  # communicate's memory


@needs_mirror
def test_a_bulk_only_workflow_pools_its_samples(tmp_path):
    """Bulk cohorts alone: harmonise -> score -> test -> export_samples, then a pool that
    writes sample_scores.* (no per-patient tables: before, Snakemake failed the pool job for
    the single-cell outputs it never wrote and deleted the pooled evidence)."""
    config = _config(tmp_path, datasets=["gliovis_donson2012"])
    result = _workflow(tmp_path, "--config", str(config), "--cores", "2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = tmp_path / "results"
    assert (out / "gliovis_donson2012" / "samples.h5ad").is_file()
    assert not (out / "gliovis_donson2012" / "cells.h5ad").exists()
    samples = pd.read_csv(out / "sample_scores.csv")
    assert len(samples) == 26 and set(samples["dataset"]) == {"gliovis_donson2012"}
    evidence = pd.read_csv(out / "evidence.csv")
    assert set(evidence["data_type"]) == {"bulk"} and "B1_bulk" in set(evidence["claim"])
    assert not (out / "patient_scores.csv").exists()


def test_slurm_profile_is_valid_in_a_dry_run(tmp_path):
    profile = REPO / "workflows" / "profiles" / "slurm"
    result = _workflow(tmp_path, "--config", str(_config(tmp_path)), "--profile", str(profile), "-n")
    assert result.returncode == 0, result.stderr
    assert "Using profile" in result.stdout + result.stderr
    assert "runtime=120" in result.stdout  # the config's run time for communicate reaches the jobs


def test_jobs_are_sized_by_the_dataset_cells(tmp_path):
    """An atlas's jobs ask for memory and time from its cells (obs read, no matrix); the dry run
    shows them; a small dataset keeps the config's floors."""
    n = 400_000
    atlas = tmp_path / "atlas.h5ad"
    ad.AnnData(obs=pd.DataFrame(index=[f"c{i}" for i in range(n)])).write_h5ad(atlas)
    inputs = {"atlas": {"path": str(atlas), "patient_key": "patient"}}
    config = yaml.safe_load(_config(tmp_path, inputs=inputs).read_text())
    assert dataset_cells("atlas", inputs) == n
    want = stage_resources(n, "score", config)
    per_cell = config["mem_mb_per_1000_cells"]
    assert want["mem_mb"] == round(per_cell.get("score", per_cell["default"]) * n / 1000) > 4000
    small = stage_resources(184, "score", config)
    assert small["mem_mb"] == config["mem_mb"]["default"]
    assert small["runtime"] == config["runtime_min"]["default"]
    result = _workflow(tmp_path, "--config", str(tmp_path / "config.yaml"), "-n")
    assert result.returncode == 0, result.stderr
    jobs = result.stdout.split("\nrule ")
    score = next(j for j in jobs if j.startswith("score:") and "dataset=atlas" in j)
    assert f"mem_mb={want['mem_mb']}" in score and f"runtime={want['runtime']}" in score
    assert f"threads: {want['threads']}" in score


def test_dataset_keywords_and_overlaps():
    default = resolve_datasets(["default"])
    assert default in (["tirosh2016_oligodendroglioma"], ["tirosh2016_oligodendroglioma_infercnvpy"])
    available = resolve_datasets(["available"])
    assert default[0] in available
    manifest = get_manifest()
    for i in available:  # `available` never keeps two datasets that share cells
        assert not set(manifest.get(i).get("overlaps", [])) & set(available), i
    assert len(resolve_datasets(["default", "available"])) == len(available)  # no repeats
    with pytest.raises(InputDataError, match="share cells"):
        resolve_datasets(["tirosh2016_oligodendroglioma", "tirosh2016_oligodendroglioma_infercnvpy"])
    with pytest.raises(UnknownDatasetError, match="neftel2019_mgh136"):
        resolve_datasets(["neftel2019_mgh13"])


def test_config_errors_name_the_fix(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("datasets: []\n")
    with pytest.raises(InputDataError, match="datasets: \\[default\\]"):
        load_config(empty)
    bad = tmp_path / "bad.yaml"
    bad.write_text("inputs: {mine: {path: x.h5ad}}\n")
    with pytest.raises(InputDataError, match="patient_key"):
        load_config(bad)
    cmd = snakemake_command(bad, cores=3)
    assert "--rerun-incomplete" in cmd and cmd[cmd.index("--cores") + 1] == "3"


def test_killed_workflow_resumes_and_matches_a_direct_run(tmp_path, default_run):
    """Kill the whole workflow mid-run (SIGKILL: no cleanup), rerun it: it finishes, and every
    table is byte-identical to `neurosig run` with the same seed."""
    config = _config(tmp_path)
    dataset = resolve_datasets(["default"])[0]
    out = tmp_path / "results" / dataset
    proc = subprocess.Popen(
        [*NEUROSIG, "workflow", "--config", str(config), "--cores", "1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while not (out / "stages" / "scored.h5ad").exists() and time.time() < deadline:
        assert proc.poll() is None, "the workflow ended before it could be killed"
        time.sleep(0.2)
    time.sleep(1.0)  # inside the communicate job
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "provenance.json").exists()
    assert list((tmp_path / ".snakemake" / "locks").glob("*")), "a killed run leaves Snakemake's lock"

    result = _workflow(tmp_path, "--config", str(config), "--cores", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "releasing the lock" in result.stderr and "results in" in result.stderr
    assert "rule fetch" not in result.stdout + result.stderr  # finished stages are not redone
    assert not (out / "stages" / "scored.h5ad").exists()  # intermediates are temporary

    compared = 0
    for path in sorted(default_run.rglob("*")):
        name = path.relative_to(default_run)
        if path.suffix in {".csv", ".parquet", ".json", ".html", ".png"} and name.name != "provenance.json":
            assert (out / name).read_bytes() == path.read_bytes(), name
            compared += 1
    assert compared >= 15
    for pooled in ("evidence.csv", "patient_scores.csv", "patient_scores.parquet", "report.html"):
        assert (tmp_path / "results" / pooled).is_file()
    evidence = pd.read_csv(tmp_path / "results" / "evidence.csv")
    assert set(evidence["dataset"]) == {dataset, "pooled"}
    for stage in STAGES:
        assert (tmp_path / "results" / "logs" / dataset / f"{stage}.log").is_file()
        assert (tmp_path / "results" / "benchmarks" / dataset / f"{stage}.tsv").is_file()


def test_user_h5ad_inputs_reach_the_stage_commands(tmp_path):
    """A config's `inputs:` entry runs through Snakemake's own fetch and harmonise jobs.

    Before, the fetch rule passed --patient-key to `stage fetch` (which takes none) and the
    path went unquoted into the shell, so an `inputs:` entry never worked; the test then ran
    the stage commands by hand and missed it. The path here has a space in it.
    """
    from neurosig.datasets import load

    src = load("tirosh2016_oligodendroglioma_infercnvpy")
    user = ad.AnnData(X=src.layers["tpm"], obs=src.obs[["patient"]].astype(str), var=src.var[[]])
    folder = tmp_path / "my data"
    folder.mkdir()
    user.write_h5ad(folder / "mine.h5ad")
    spec = {"path": str(folder / "mine.h5ad"), "patient_key": "patient", "value_type": "tpm"}
    config = _config(tmp_path, datasets=[], inputs={"my_cohort": spec}, keep_stages=True)
    result = _workflow(tmp_path, "--config", str(config), "-n", "--", "--printshellcmds")
    assert result.returncode == 0, result.stderr
    quoted = f"'{folder / 'mine.h5ad'}'"
    assert f"stage fetch --input {quoted} --out" in result.stdout
    planned = f"stage harmonise --input {quoted} --patient-key patient --value-type tpm --name my_cohort"
    assert planned in result.stdout and "results/my_cohort/provenance.json" in result.stdout
    # the real jobs, as Snakemake runs them
    result = _workflow(tmp_path, "--config", str(config), "--cores", "1", "--", "--until", "harmonise")
    assert result.returncode == 0, result.stderr
    assert "sha256" in (tmp_path / "results" / "my_cohort" / "fetch.json").read_text()
    harmonised = ad.read_h5ad(tmp_path / "results" / "my_cohort" / "stages" / "harmonised.h5ad")
    assert harmonised.n_obs == 184 and set(harmonised.obs["dataset"]) == {"my_cohort"}
    assert harmonised.uns["neurosig"]["source"]["sha256"]


def test_config_mistakes_are_one_line_before_snakemake(tmp_path):
    """A misspelled id, overlapping datasets or a missing input file: one line, no Snakemake
    traceback, and no pointer to a logs folder that does not exist."""
    cases = {
        "tirosh2016_oligodendroglioma_typo": "Unknown dataset id",
        "overlap": "share cells",
    }
    overlapping = next((i, d["overlaps"][0]) for i, d in get_manifest().datasets.items() if d.get("overlaps"))
    for name, expected in cases.items():
        datasets = list(overlapping) if name == "overlap" else [name]
        result = _workflow(tmp_path, "--config", str(_config(tmp_path, datasets=datasets)), "-n")
        assert result.returncode == 2 and expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and "logs" not in result.stderr
    missing = _config(tmp_path, datasets=[], inputs={"mine": {"path": "nope.h5ad", "patient_key": "p"}})
    result = _workflow(tmp_path, "--config", str(missing), "-n")
    assert result.returncode == 2 and "no file" in result.stderr and "nope.h5ad" in result.stderr
    assert not (tmp_path / "results").exists()
