"""The stages after harmonise on a backed AnnData vs in memory: each stage's seconds and peak RSS.

Harmonises a counts-only atlas (``neurosig simulate --counts-only``) in memory once and
writes it as ``HARMONISED`` (log-normalised CSR ``X``, no counts layer: what the streamed
harmonise leaves on disk), unless that file exists. Then, in a child process per mode,

* ``memory``: ``ad.read_h5ad(HARMONISED)`` (the matrix in memory),
* ``backed``: ``ad.read_h5ad(HARMONISED, backed="r")`` (``X`` read a row chunk at a time),

runs the stages after harmonise (``neurosig.pipeline.STAGES``: annotate, a no-op with
author labels; score; communicate; test) and ``neurosig.export.write_run`` with
``write_cells=False``, printing ``[i/n] stage ...`` lines that
:func:`bench_scale.run_measured` times and samples (RSS every 0.2 s). Every output but
``provenance.json`` of the two modes is compared byte for byte. Writes
``benchmarks/results/backed_stages_<cells>.json`` and prints a Markdown table.

Usage::

    neurosig simulate --n-cells 200000 --n-patients 24 --technology tenx --counts-only --out atlas.h5ad
    NEUROSIG_MIRRORS=../shared/data python benchmarks/bench_backed_stages.py atlas.h5ad harmonised.h5ad
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_scale import run_measured  # noqa: E402


def child(mode: str, harmonised: Path, out: Path, n_perms: int, seed: int) -> None:
    """Run the stages and the export on ``harmonised`` in ``mode``, printing stage lines."""
    import anndata as ad

    from neurosig import pipeline
    from neurosig.export import write_run

    warnings.simplefilter("ignore")
    say = pipeline._progress(True, 6)
    with say("read" if mode == "memory" else "open"):
        adata = ad.read_h5ad(harmonised, backed="r" if mode == "backed" else None)
    for name in pipeline.stages_for(adata):
        with say(name):
            pipeline.STAGES[name](adata, seed=seed, n_perms=n_perms, progress=False)
    with say("export"):
        write_run(adata, out, write_cells=False)


def harmonise_once(atlas: Path, harmonised: Path) -> float:
    """Harmonise ``atlas`` in memory (counts not kept) and write it; the seconds it took."""
    from neurosig import pipeline

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata = pipeline.harmonise(
            input=atlas, patient_key="patient", label_key="cell_type", progress=False, write_cells=False
        )
    adata.write_h5ad(harmonised)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("atlas", type=Path, help="a counts-only simulated atlas")
    parser.add_argument("harmonised", type=Path, help="the harmonised h5ad (written unless it exists)")
    parser.add_argument("--n-perms", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modes", nargs="+", default=["memory", "backed"])
    parser.add_argument("--out", default=None)
    parser.add_argument("--child", choices=["memory", "backed"], help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.harmonised, args.child_out, args.n_perms, args.seed)
        return

    record: dict = {"benchmark": "backed_stages", "params": {k: str(v) for k, v in vars(args).items()}}
    record["load_before"] = os.getloadavg()
    if not args.harmonised.exists():
        record["harmonise_seconds"] = round(harmonise_once(args.atlas, args.harmonised), 1)
    import h5py

    with h5py.File(args.harmonised, "r") as f:
        n_cells, n_genes = (int(v) for v in f["X"].attrs["shape"])
        record["cells"], record["genes"], record["nnz"] = n_cells, n_genes, int(f["X/data"].shape[0])
    record["harmonised_gb"] = round(args.harmonised.stat().st_size / 1e9, 2)
    work = Path(tempfile.mkdtemp(prefix="neurosig_backed_"))
    for mode in args.modes:
        cmd = [
            sys.executable, __file__, str(args.atlas), str(args.harmonised), "--child", mode,
            "--child-out", str(work / mode), "--n-perms", str(args.n_perms), "--seed", str(args.seed),
        ]  # fmt: skip
        record[mode] = run_measured(cmd, dict(os.environ))
    if {"memory", "backed"} <= set(args.modes):
        files = sorted(p.relative_to(work / "memory") for p in (work / "memory").rglob("*") if p.is_file())
        record["files_compared"] = len(files) - 1
        record["files_differing"] = [
            str(f)
            for f in files
            if f.name != "provenance.json"
            and (work / "memory" / f).read_bytes() != (work / "backed" / f).read_bytes()
        ]
    record["load_after"] = os.getloadavg()
    record["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform()}
    out = Path(args.out or Path(__file__).parent / "results" / f"backed_stages_{n_cells}.json")
    out.write_text(json.dumps(record, indent=1) + "\n")
    modes = [m for m in args.modes if m in record]
    print("| stage | " + " | ".join(f"{m} s | {m} peak RSS (MB)" for m in modes) + " |")
    print("|---" * (1 + 2 * len(modes)) + "|")
    for name in dict.fromkeys(n for m in modes for n in record[m]["stages"]):
        cells = [
            f"{record[m]['stages'].get(name, {}).get('seconds', '')} | "
            f"{record[m]['stages'].get(name, {}).get('peak_rss_mb', '')}"
            for m in modes
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(
        "| whole | "
        + " | ".join(f"{record[m]['wall_seconds']} | {record[m]['peak_rss_mb']}" for m in modes)
        + " |"
    )
    if "files_differing" in record:
        print(f"{record['files_compared']} files compared; differing: {record['files_differing'] or 'none'}")
    subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
