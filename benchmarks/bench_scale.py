"""``neurosig run`` end to end on a simulated atlas: each stage's seconds and peak memory.

Simulates a 10x-like atlas (``neurosig simulate --technology tenx``; the simulator
streams, so simulating a million cells stays near 1 GB) unless ``--h5ad`` names one
already written, then runs

    neurosig run --input ATLAS --patient-key patient --label-key cell_type --out OUT

in a child process. The parent reads the child's stage lines (``[i/n] stage ...``) as
they come and samples the child's resident memory every 0.2 s, so each stage gets its
wall seconds and the peak RSS seen while it ran. The machine's load average before and
after is recorded (timings on a shared machine are noisy). Writes
``benchmarks/results/scale_<cells>.json`` and prints a Markdown table.

With ``--equal-cells N`` (default 20,000) it then draws a seeded subset of N cells of the
atlas (streamed, row by row) and runs it twice, in memory (``--write-cells``) and along the
atlas path (``--no-write-cells``: harmonised to disk and read back in chunks), and compares
every table, figure and the report byte for byte and the per-cell results of
``cells.h5ad`` exactly (``equal_subset`` in the JSON).

Usage::

    NEUROSIG_MIRRORS=../shared/data python benchmarks/bench_scale.py --n-cells 200000
    python benchmarks/bench_scale.py --n-cells 1000000 --n-patients 100 --keep /tmp/atlas_1m.h5ad
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import psutil

STAGE = re.compile(r"^\[(\d+)/(\d+)\] (\w+) (\.\.\.|done in)")


def _rss(proc: psutil.Process) -> int:
    try:
        procs = [proc, *proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs if p.is_running())
    except psutil.Error:
        return 0


def run_measured(cmd: list[str], env: dict[str, str]) -> dict:
    """Run ``cmd``; each stage's seconds and peak RSS (MB), the whole run's too."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    proc = psutil.Process(child.pid)
    state = {"stage": "start-up", "peak": {}, "overall": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss = _rss(proc)
            stage = state["stage"]
            state["peak"][stage] = max(state["peak"].get(stage, 0), rss)
            state["overall"] = max(state["overall"], rss)
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stages: dict[str, dict] = {}
    tail: list[str] = []
    began: dict[str, float] = {}
    for line in child.stderr:
        tail = (tail + [line])[-40:]
        m = STAGE.match(line)
        if not m:
            continue
        name, what = m.group(3), m.group(4)
        if what == "...":
            state["stage"] = name
            began[name] = time.perf_counter()
        else:
            stages[name] = {"seconds": round(time.perf_counter() - began[name], 1)}
    rc = child.wait()
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    if rc != 0:
        sys.exit("".join(tail))
    for name, rec in stages.items():
        rec["peak_rss_mb"] = round(state["peak"].get(name, 0) / 2**20)
    return {"stages": stages, "wall_seconds": round(wall, 1), "peak_rss_mb": round(state["overall"] / 2**20)}


def write_subset(atlas: Path, out: Path, n: int, seed: int) -> None:
    """A seeded subset of ``n`` cells of ``atlas`` (counts only), read row block by row block."""
    from anndata.io import read_elem, sparse_dataset

    from neurosig._h5ad_writer import StreamingH5ad

    with h5py.File(atlas, "r") as f:
        key = "layers/counts" if "layers" in f and "counts" in f["layers"] else "X"
        matrix = sparse_dataset(f[key])
        rows = np.sort(np.random.default_rng(seed).choice(matrix.shape[0], size=n, replace=False))
        obs, var = read_elem(f["obs"]).iloc[rows], read_elem(f["var"])
        with StreamingH5ad(out, obs, var) as writer:
            for a in range(0, n, 2000):
                writer.append(matrix[rows[a : a + 2000]])


def _same(x: np.ndarray, y: np.ndarray) -> bool:
    """Equal arrays, NaN equal to NaN (cells without a Neftel state have NaN modules)."""
    return x.shape == y.shape and np.array_equal(x, y, equal_nan=x.dtype.kind == "f")


def compare_runs(a: Path, b: Path) -> dict:
    """Files of two runs compared byte for byte (not provenance, cells.h5ad); cells.h5ad's results exactly."""
    skip = {"provenance.json", "cells.h5ad"}
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name not in skip)
    differ = [str(f) for f in files if not (b / f).exists() or (a / f).read_bytes() != (b / f).read_bytes()]
    full, atlas = ad.read_h5ad(a / "cells.h5ad"), ad.read_h5ad(b / "cells.h5ad")
    obsm_differ = [k for k in full.obsm if not _same(np.asarray(full.obsm[k]), np.asarray(atlas.obsm[k]))]
    return {
        "files_compared": len(files),
        "files_differ": differ,
        "obsm_differ": obsm_differ,
        "obs_equal": bool(full.obs.equals(atlas.obs)),
        "matrix_only_in_memory_run": full.X is not None and atlas.X is None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cells", type=int, default=200_000)
    parser.add_argument("--n-patients", type=int, default=24)
    parser.add_argument("--h5ad", help="an atlas already simulated (skips simulation)")
    parser.add_argument("--keep", help="write the simulated atlas here and keep it")
    parser.add_argument("--n-perms", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more `neurosig run` options")
    parser.add_argument("--out", default=None)
    parser.add_argument("--equal-cells", type=int, default=20_000, help="0: skip the equality check")
    parser.add_argument(
        "--no-labels",
        action="store_true",
        help="run without --label-key: every cell annotated (docs/annotation.md)",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="neurosig_scale_"))
    env = dict(os.environ)
    neurosig = [sys.executable, "-m", "neurosig"]
    record: dict = {"benchmark": "scale", "params": vars(args), "load_before": os.getloadavg()}
    atlas = Path(args.h5ad) if args.h5ad else Path(args.keep or work / "atlas.h5ad")
    if not args.h5ad:
        t0 = time.perf_counter()
        subprocess.run(
            [*neurosig, "simulate", "--out", str(atlas), "--n-cells", str(args.n_cells), "--n-patients",
             str(args.n_patients), "--technology", "tenx", "--seed", str(args.seed), "--no-progress",
             "--counts-only"],
            check=True, env=env,
        )  # fmt: skip
        record["simulate_seconds"] = round(time.perf_counter() - t0, 1)
    record["atlas_gb"] = round(atlas.stat().st_size / 1e9, 2)
    labels = [] if args.no_labels else ["--label-key", "cell_type"]
    cmd = [
        *neurosig, "run", "--input", str(atlas), "--patient-key", "patient", *labels,
        "--out", str(work / "run"), "--seed", str(args.seed), "--n-perms", str(args.n_perms), *args.extra,
    ]  # fmt: skip
    record["run"] = run_measured(cmd, env)
    if args.equal_cells:
        subset = work / "subset.h5ad"
        write_subset(atlas, subset, args.equal_cells, args.seed)
        runs = {}
        for name, flag in (("memory", "--write-cells"), ("atlas", "--no-write-cells")):
            runs[name] = work / f"subset_{name}"
            subprocess.run(
                [*neurosig, "run", "--input", str(subset), "--patient-key", "patient", "--label-key",
                 "cell_type", "--out", str(runs[name]), "--seed", str(args.seed), "--n-perms",
                 str(args.n_perms), flag],
                check=True, env=env, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        record["equal_subset"] = {"cells": args.equal_cells, **compare_runs(runs["memory"], runs["atlas"])}
        print(json.dumps(record["equal_subset"]))
    record["load_after"] = os.getloadavg()
    record["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform()}
    out = Path(args.out or Path(__file__).parent / "results" / f"scale_{args.n_cells}.json")
    out.write_text(json.dumps(record, indent=1) + "\n")
    print("| stage | seconds | peak RSS (MB) |\n|---|---|---|")
    for name, rec in record["run"]["stages"].items():
        print(f"| {name} | {rec['seconds']} | {rec['peak_rss_mb']} |")
    print(f"| whole run | {record['run']['wall_seconds']} | {record['run']['peak_rss_mb']} |")
    if not args.keep and not args.h5ad:
        atlas.unlink()


if __name__ == "__main__":
    main()
