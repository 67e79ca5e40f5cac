"""The workflow over every mirrored dataset: wall time, per-stage time and memory, pooling.

Runs ``neurosig workflow`` in a fresh folder on ``datasets: [available]`` (with
``../shared/data`` as mirror: Tirosh 2016, Neftel 2019 MGH136, Darmanis 2015) and
records the total wall time, each rule's seconds and peak RSS from Snakemake's
``benchmark:`` files, and what the pooled evidence holds. A second invocation checks
that a finished workflow has nothing left to do. Writes
``benchmarks/results/workflow.json``.

Usage::

    NEUROSIG_MIRRORS=../shared/data python benchmarks/bench_workflow.py [--cores 2] [--n-perms 1000]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--n-perms", type=int, default=1000)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "workflow.json"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="neurosig_workflow_"))
    config = {"datasets": ["available"], "seed": 0, "n_perms": args.n_perms, "results": "results"}
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    cmd = [
        sys.executable,
        "-m",
        "neurosig",
        "workflow",
        "--config",
        "config.yaml",
        "--cores",
        str(args.cores),
    ]
    start = time.perf_counter()
    first = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if first.returncode != 0:
        sys.exit(first.stderr[-3000:])
    start = time.perf_counter()
    second = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    rerun = time.perf_counter() - start

    results = work / "results"
    stages = {}
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        row = pd.read_csv(tsv, sep="\t").iloc[0]
        key = str(tsv.relative_to(results / "benchmarks").with_suffix(""))
        stages[key] = {"seconds": round(float(row["s"]), 2), "max_rss_mb": round(float(row["max_rss"]), 1)}
    evidence = pd.read_csv(results / "evidence.csv")
    scores = pd.read_csv(results / "patient_scores.csv")
    record = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, cores used {args.cores}",
        "n_perms": args.n_perms,
        "datasets": sorted(set(evidence["dataset"]) - {"pooled"}),
        "wall_seconds": round(wall, 1),
        "rerun_seconds_nothing_to_do": round(rerun, 1),
        "rerun_ran_no_job": "Nothing to be done" in second.stdout + second.stderr,
        "stages": stages,
        "pooled_verdicts": evidence[evidence["dataset"] == "pooled"]["verdict"].value_counts().to_dict(),
        "patients": int(len(scores)),
        "patients_by_dataset": scores["dataset"].value_counts().to_dict(),
    }
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
