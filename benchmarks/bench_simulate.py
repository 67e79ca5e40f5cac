"""Benchmark: stream a simulated atlas to disk and report wall time and peak memory.

Runs the simulation in a child process so its peak RSS is measured alone
(``getrusage(RUSAGE_CHILDREN).ru_maxrss``), then writes a JSON record (parameters,
wall time, peak RSS, file size, neurosig and dependency versions) to
``benchmarks/results/``. Not part of the test suite.

Usage::

    python benchmarks/bench_simulate.py --n-cells 1000000 --n-genes 20000 --out /tmp/atlas.h5ad
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import sys
from neurosig.sim import SimParams, simulate
n_cells, n_genes, n_patients, tech, chunk, out = sys.argv[1:7]
params = SimParams(n_patients=int(n_patients), n_cells=int(n_cells), n_genes=int(n_genes),
                   technology=tech, chunk_size=int(chunk), seed=0,
                   neural_loading=0.5, mhc_effect=-0.5, composition_effects={"T_CD8": -0.8})
simulate(params, out, progress=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cells", type=int, default=1_000_000)
    parser.add_argument("--n-genes", type=int, default=20_000)
    parser.add_argument("--n-patients", type=int, default=100)
    parser.add_argument("--technology", default="tenx")
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/neurosig_bench_sim.h5ad"))
    parser.add_argument("--keep", action="store_true", help="Keep the simulated file.")
    args = parser.parse_args()

    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(args.n_cells),
            str(args.n_genes),
            str(args.n_patients),
            args.technology,
            str(args.chunk_size),
            str(args.out),
        ],
        check=True,
    )
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size_gb = args.out.stat().st_size / 1e9
    import h5py

    with h5py.File(args.out, "r") as fh:
        nnz = (
            int(fh["layers/counts/data"].shape[0])
            if "layers" in fh and "counts" in fh["layers"]
            else int(fh["X/data"].shape[0])
        )
        shape = [int(x) for x in fh["X"].attrs["shape"]]
    from neurosig._provenance import package_versions

    record = {
        "benchmark": "simulate",
        "params": vars(args) | {"out": str(args.out)},
        "shape": shape,
        "nnz": nnz,
        "wall_seconds": round(wall, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "file_gb": round(size_gb, 2),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": package_versions(),
    }
    out = Path(__file__).parent / "results" / f"simulate_{args.n_cells}x{args.n_genes}.json"
    out.write_text(json.dumps(record, indent=1))
    print(json.dumps({k: record[k] for k in ("shape", "nnz", "wall_seconds", "peak_rss_mb", "file_gb")}))
    if not args.keep:
        args.out.unlink()


if __name__ == "__main__":
    main()
