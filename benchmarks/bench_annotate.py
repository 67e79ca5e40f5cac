"""Annotation of atlases without labels: seconds and peak memory at two sizes.

Simulates 10x-like atlases (``neurosig simulate --technology tenx``) unless they exist,
removes their counts layer (``anndata.read_h5ad(backed="r")`` reads every layer into
memory, and annotation reads only ``X``), then in a child process per size opens the
file backed (``X`` stays on disk), hides the labels (``cell_type`` ``unknown``,
``malignant`` unknown) and runs ``neurosig.tl.annotate``, which takes the subsample
strategy (docs/scale.md). The child reports its wall seconds, its own peak resident
memory (``getrusage``), the memory after opening the file, and the agreement of the
calls with the simulator's hidden labels. infercnvpy runs its chunks in a forked worker
process even with ``n_jobs=1``, so the parent also samples the proportional set size
(PSS: shared pages split between the processes sharing them) of the child and its
workers every 0.5 s and keeps the peak of the sum. The load average before and after each run
is recorded (the machine is shared). Writes ``benchmarks/results/annotate_scale.json``.

Usage::

    python benchmarks/bench_annotate.py --sizes 50000 200000 --workdir /tmp/annot_bench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
from pathlib import Path

import psutil

RESULTS = Path(__file__).parent / "results" / "annotate_scale.json"


def simulate(path: Path, n_cells: int, n_patients: int) -> None:
    """A tenx-like atlas at ``path`` (kept when it exists), without its counts layer."""
    import h5py

    if not path.exists():
        cmd = [sys.executable, "-m", "neurosig", "simulate", "--out", str(path), "--n-cells", str(n_cells)]
        cmd += ["--n-patients", str(n_patients), "--technology", "tenx", "--no-progress"]
        subprocess.run(cmd, check=True)
    with h5py.File(path, "r+") as f:
        for name in list(f["layers"]):
            del f["layers"][name]


def child(path: str, subsample_cells: int, seed: int) -> None:
    """Open ``path`` backed, hide the labels, annotate; print one JSON line."""
    import resource
    import time
    import warnings

    import anndata as ad
    import numpy as np
    import pandas as pd

    from neurosig.tl import annotate

    start = time.perf_counter()
    adata = ad.read_h5ad(path, backed="r")
    truth = adata.obs["cell_type"].astype(str).to_numpy()
    truth_malignant = adata.obs["malignant"].astype(bool).to_numpy()
    adata.obs["cell_type"] = pd.Categorical(
        ["unknown"] * adata.n_obs, categories=adata.obs["cell_type"].cat.categories
    )
    adata.obs["malignant"] = pd.array([pd.NA] * adata.n_obs, dtype="boolean")
    opened_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        annotate(adata, seed=seed, subsample_cells=subsample_cells)
    seconds = time.perf_counter() - t0
    record = adata.uns["neurosig"]["annotation"]
    called = adata.obs["cell_type"].astype(str).to_numpy()
    malignant = adata.obs["malignant"].astype(bool).to_numpy()
    sub = adata.obs["annotation_subsample"].to_numpy()
    print(
        json.dumps(
            {
                "n_cells": int(adata.n_obs),
                "n_genes": int(adata.n_vars),
                "nnz": int(adata.X.group["data"].shape[0]),
                "seconds_annotate": round(seconds, 1),
                "seconds_total": round(time.perf_counter() - start, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "rss_after_open_mb": round(opened_mb),
                "strategy": record["strategy"],
                "subsample_cells": record["subsample_cells"],
                "n_patients": len(record["per_patient"]["patients"]),
                "malignant_agreement": round(float((malignant == truth_malignant).mean()), 4),
                "malignant_agreement_placed": (
                    round(float((malignant[~sub] == truth_malignant[~sub]).mean()), 4)
                    if (~sub).any()
                    else None
                ),
                "cell_type_agreement_non_malignant": round(
                    float((called[~truth_malignant] == truth[~truth_malignant]).mean()), 4
                ),
                "cell_types_called": pd.Series(called).value_counts().to_dict(),
                "cell_types_simulated": pd.Series(truth).value_counts().to_dict(),
                "seed": seed,
                "n_called_malignant": int(np.sum(malignant)),
            }
        )
    )


def _pss(proc: psutil.Process) -> int:
    """PSS of a process and its children, in bytes (0 once they are gone)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_full_info().pss
        except psutil.Error:
            pass
    return total


def run_child(cmd: list[str]) -> tuple[dict, float]:
    """Run the child; its JSON line and the peak PSS (MB) of it and its workers."""
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    proc = psutil.Process(child.pid)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _pss(proc))
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    stop.set()
    sampler.join()
    if child.returncode:
        raise SystemExit(f"child failed ({child.returncode}): {' '.join(cmd)}")
    return json.loads(out.strip().splitlines()[-1]), peak[0] / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 200_000])
    parser.add_argument("--n-patients", type=int, default=20)
    parser.add_argument("--subsample-cells", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/annot_bench"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.subsample_cells, args.seed)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in args.sizes:
        path = args.workdir / f"atlas_{n}.h5ad"
        simulate(path, n, args.n_patients)
        load_before = os.getloadavg()
        cmd = [sys.executable, __file__, "--child", str(path), "--subsample-cells", str(args.subsample_cells)]
        run, peak_pss = run_child([*cmd, "--seed", str(args.seed)])
        run["peak_pss_mb_with_workers"] = round(peak_pss)
        run["load_average_before"] = [round(x, 1) for x in load_before]
        run["load_average_after"] = [round(x, 1) for x in os.getloadavg()]
        runs.append(run)
        print(json.dumps({k: v for k, v in run.items() if not k.startswith("cell_types")}), flush=True)
    result = {
        "command": f"neurosig simulate --technology tenx --n-patients {args.n_patients}; "
        "tl.annotate on the backed file, labels hidden",
        "subsample_cells": args.subsample_cells,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("| cells | subsample | seconds | peak RSS MB | peak PSS MB, with workers | after open MB |")
    print("|---|---|---|---|---|---|")
    for r in runs:
        row = [r["n_cells"], r["subsample_cells"], r["seconds_annotate"], r["peak_rss_mb"]]
        row += [r["peak_pss_mb_with_workers"], r["rss_after_open_mb"]]
        print("| " + " | ".join(f"{x:,}" if isinstance(x, int) else str(x) for x in row) + " |")


if __name__ == "__main__":
    main()
