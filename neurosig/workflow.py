"""``neurosig workflow``: the bundled Snakemake workflow over many datasets, resumable.

The workflow (``workflows/Snakefile``) runs each dataset through the pipeline's stages
(fetch -> harmonise -> annotate -> score -> communicate -> test -> export), one rule per
stage, then pools the evidence and per-patient scores across datasets. This module
resolves the config's dataset list and starts Snakemake so that an interrupted run
resumes: Snakemake reruns jobs whose outputs it marked incomplete, and a lock left by
a killed run is released when no other ``neurosig workflow`` holds this folder.
"""

from __future__ import annotations

import fcntl
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ._resources import workflows_dir
from .datasets import default_dataset, get_manifest
from .datasets.fetch import available_offline
from .datasets.load import needed_files
from .errors import InputDataError

#: Keywords a config's ``datasets`` list may hold besides manifest ids.
KEYWORDS = {
    "default": "neurosig's default dataset (Tirosh 2016 from the mirror, else the infercnvpy copy)",
    "available": "every manifest dataset whose files are available offline (single-cell, bulk and "
    "multi-region), leaving out one of each pair that shares cells or tumours",
}


def resolve_datasets(entries: Sequence[str]) -> list[str]:
    """Manifest ids from a config's ``datasets`` list (keywords expanded, order kept, no repeats).

    Datasets that share cells (manifest ``overlaps``) would count the same patients twice
    when pooled, so such a pair raises; ``available`` keeps the first of them in manifest
    order. Bulk and multi-region entries run the same rules without annotate and
    communicate (:func:`sample_datasets`).
    """
    manifest = get_manifest()
    out: list[str] = []
    for entry in entries:
        if entry == "default":
            ids = [default_dataset(manifest)]
        elif entry == "available":
            ids = [i for i, d in manifest.datasets.items() if available_offline(d, needed_files(d))]
            kept: list[str] = []
            for i in ids:
                if not set(manifest.get(i).get("overlaps", [])) & set(kept + out):
                    kept.append(i)
            ids = kept
        else:
            manifest.get(entry)  # unknown ids raise with near matches
            ids = [entry]
        out.extend(i for i in ids if i not in out)
    for i in out:
        shared = sorted(set(manifest.get(i).get("overlaps", [])) & set(out))
        if shared:
            raise InputDataError(
                f"Datasets {i} and {shared} share cells (data_manifest.yaml 'overlaps'): pooling them "
                "would count the same patients twice. Keep one of them in the config's datasets."
            )
    return out


def sample_datasets(datasets: Sequence[str]) -> list[str]:
    """The ids among ``datasets`` whose rows are tumour samples (modality bulk or multi_region).

    The workflow scores and tests them without annotate and communicate, and exports
    ``samples.h5ad`` instead of ``cells.h5ad`` and a report.
    """
    manifest = get_manifest()
    return [
        d
        for d in datasets
        if d in manifest.datasets and manifest.get(d).get("modality", "single_cell") != "single_cell"
    ]


def dataset_cells(dataset: str, inputs: dict[str, Any] | None = None) -> int:
    """Cells of a dataset, to size its jobs: the manifest's ``n_cells``, or a user h5ad's obs.

    A user h5ad is read for its cell index only (h5py; no matrix). 0 when unknown.
    """
    spec = (inputs or {}).get(dataset)
    if spec is not None:
        from .datasets.parsers.h5ad import h5ad_n_obs

        path = Path(spec["path"])
        return h5ad_n_obs(path) if path.exists() else 0
    return int(get_manifest().get(dataset).get("n_cells") or 0)


def stage_resources(n_cells: int, stage: str, config: dict[str, Any]) -> dict[str, int]:
    """Memory (MB), run time (minutes) and threads of one rule for a dataset of ``n_cells``.

    Each is the larger of the config's floor (``mem_mb``, ``runtime_min``; ``default``
    for rules not named) and its cost per 1,000 cells times the cells
    (``mem_mb_per_1000_cells``, ``runtime_min_per_1000_cells``), so a small dataset
    asks for the floor and an atlas for what its size needs; ``threads`` from the
    config (default 1). Keys the config lacks come from the bundled
    ``workflows/config.yaml``. Snakemake multiplies memory and time by the attempt on retry.

    Examples
    --------
    >>> conf = {"mem_mb": {"default": 4000}, "mem_mb_per_1000_cells": {"default": 20}}
    >>> stage_resources(1_000_000, "score", conf)["mem_mb"], stage_resources(184, "score", conf)["mem_mb"]
    (20000, 4000)
    """
    bundled: dict[str, Any] = {}

    def pick(key: str, default: float) -> float:
        if key not in config and not bundled:
            bundled.update(load_config())
        table = {"default": default, **((config[key] if key in config else bundled.get(key)) or {})}
        return float(table.get(stage, table["default"]))

    mem = max(pick("mem_mb", 4000), pick("mem_mb_per_1000_cells", 0) * n_cells / 1000)
    runtime = max(pick("runtime_min", 60), pick("runtime_min_per_1000_cells", 0) * n_cells / 1000)
    return {"mem_mb": int(round(mem)), "runtime": int(round(runtime)), "threads": int(pick("threads", 1))}


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """The workflow config (default: the bundled ``workflows/config.yaml``)."""
    path = Path(path) if path is not None else workflows_dir() / "config.yaml"
    with open(path) as fh:
        config = yaml.safe_load(fh) or {}
    if not config.get("datasets") and not config.get("inputs"):
        raise InputDataError(f"{path} lists no datasets and no inputs; add e.g. 'datasets: [default]'.")
    inputs = config.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise InputDataError(
            f"inputs in {path} must map a name to its file, e.g. 'my_cohort: {{path: ...}}'."
        )
    for name, spec in inputs.items():
        if not isinstance(spec, dict) or "path" not in spec or not ({"patient_key", "patient"} & set(spec)):
            raise InputDataError(
                f"inputs.{name} in {path} needs 'path' and 'patient_key' (or 'patient' for a "
                f"single-sample file), and optionally {', '.join(INPUT_KEYS[2:])}."
            )
        unknown = sorted(set(spec) - {"path", *INPUT_KEYS})
        if unknown:
            raise InputDataError(
                f"inputs.{name} in {path}: unknown keys {unknown}; keys are path, {', '.join(INPUT_KEYS)}."
            )
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", str(name)):
            raise InputDataError(
                f"inputs name {name!r} in {path}: use letters, digits, '_', '.' or '-' (it names a folder)."
            )
        file = Path(str(spec["path"])).expanduser()
        if not file.is_file():
            raise InputDataError(
                f"inputs.{name} in {path}: no file {file.resolve()} (a relative path is read from the "
                "folder the workflow runs in)."
            )
    return config


#: Keys of a config ``inputs:`` entry besides ``path`` (the options of ``neurosig run --input``).
INPUT_KEYS = (
    "patient_key",
    "patient",
    "label_key",
    "sample_key",
    "value_type",
    "symbol_column",
    "map_ensembl",
)


def check_config(path: str | Path | None = None) -> list[str]:
    """Everything that can be checked before Snakemake starts; the dataset and input names.

    A misspelled manifest id, datasets that share cells, a missing input file or an input
    named like a dataset raise one clear error here instead of a Snakemake traceback.
    """
    config = load_config(path)
    datasets = resolve_datasets(config.get("datasets") or [])
    clash = sorted(set(datasets) & set(config.get("inputs") or {}))
    if clash:
        raise InputDataError(f"inputs {clash} are named like manifest datasets of the config; rename them.")
    return datasets + list(config.get("inputs") or {})


def snakemake_command(
    config: str | Path | None = None,
    *,
    cores: int | None = None,
    profile: str | None = None,
    dry_run: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """The Snakemake command line ``neurosig workflow`` runs."""
    config_path = Path(config) if config is not None else workflows_dir() / "config.yaml"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(workflows_dir() / "Snakefile")]
    cmd += ["--configfile", str(config_path), "--rerun-incomplete", "--show-failed-logs"]
    if profile:
        cmd += ["--profile", str(profile)]
    elif cores is None:
        cmd += ["--cores", "all"]
    if cores is not None:
        cmd += ["--cores", str(cores)]
    if dry_run:
        cmd += ["--dry-run"]
    return cmd + list(extra)


def run_workflow(
    config: str | Path | None = None,
    *,
    cores: int | None = None,
    profile: str | None = None,
    dry_run: bool = False,
    extra: Sequence[str] = (),
) -> int:
    """Run the workflow in the current folder; return Snakemake's exit status.

    A file lock (``.snakemake/neurosig-workflow.lock``, released by the operating system
    when the process dies) tells whether another ``neurosig workflow`` runs here; when none
    does, a Snakemake lock left by a killed run is stale and is released first.
    """
    try:
        import snakemake  # noqa: F401
    except ImportError:
        raise InputDataError(
            "The workflow needs Snakemake: pip install 'neurosig[workflow]' (snakemake and its SLURM plugin)."
        ) from None
    check_config(config)
    settings = load_config(config)
    results = Path(settings.get("results", "results/workflow"))
    Path(".snakemake").mkdir(exist_ok=True)
    with open(".snakemake/neurosig-workflow.lock", "w") as guard:
        try:
            fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputDataError(
                "Another `neurosig workflow` is running in this folder; wait for it or run elsewhere."
            ) from None
        if not dry_run and any(Path(".snakemake/locks").glob("*")):
            print("neurosig: releasing the lock of an interrupted run", file=sys.stderr)
            subprocess.run([*snakemake_command(config), "--unlock"], check=False, capture_output=True)
        cmd = snakemake_command(config, cores=cores, profile=profile, dry_run=dry_run, extra=extra)
        status = subprocess.run(cmd, check=False).returncode
    if status == 0 and not dry_run:
        print(
            f"neurosig: results in {results.resolve()} (report.html, evidence.csv, patient_scores.csv; "
            "one folder per dataset)",
            file=sys.stderr,
        )
    elif status != 0:
        logs = results.resolve() / "logs"
        where = (
            f"see the failed job's log above and the logs in {logs}"
            if logs.is_dir()
            else "see Snakemake's message above (no job had started, so there are no logs)"
        )
        print(f"neurosig: the workflow failed; {where}", file=sys.stderr)
    return status
