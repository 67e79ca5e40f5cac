"""All bulk entries (18 GlioVis cohorts and the 3D atlas) through `neurosig run`, timed, with
the Wang 2017 subtype agreement per cohort.

Usage: NEUROSIG_MIRRORS=../shared/data python benchmarks/bench_bulk.py [--cores 2] [--out DIR]
Writes benchmarks/results/bulk.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent


def one(args):
    did, out = args
    warnings.simplefilter("ignore")
    import anndata as ad

    from neurosig.pipeline import run

    t0 = time.perf_counter()
    run(Path(out) / did, dataset=did, seed=0, progress=False)
    seconds = time.perf_counter() - t0
    a = ad.read_h5ad(Path(out) / did / "samples.h5ad", backed="r")
    meta = a.uns["neurosig"]
    wang = meta.get("wang2017", {})
    agree = wang.get("agreement", {})
    return {
        "dataset": did,
        "seconds": round(seconds, 2),
        "samples": int(a.n_obs),
        "patients": int(a.obs["patient"].nunique()),
        "genes": int(a.n_vars),
        "survival_samples": int(meta["survival"]["n_samples"]),
        "wang2017_gbm_with_published_call": int(agree.get("n_samples", 0)),
        "wang2017_agree": int(agree.get("n_agree", 0)),
        "wang2017_agreement": agree.get("agreement"),
        "wang2017_not_run": wang.get("not_run", ""),
        "platform_affymetrix": bool(meta.get("estimate", {}).get("platform_affymetrix", False)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    from neurosig.datasets import get_manifest

    ids = [i for i, e in get_manifest().datasets.items() if e.get("modality") in ("bulk", "multi_region")]
    ids.sort(key=lambda i: i != "hilz_gliomaatlas3d")  # the slowest first
    out = args.out or tempfile.mkdtemp(prefix="bulk_runs_")
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.cores) as pool:
        rows = list(pool.map(one, [(i, out) for i in ids]))
    total = time.perf_counter() - t0
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, waited for at pool shutdown
    load = os.getloadavg()
    gbm = [r for r in rows if r["wang2017_gbm_with_published_call"]]
    n = sum(r["wang2017_gbm_with_published_call"] for r in gbm)
    agree = sum(r["wang2017_agree"] for r in gbm)
    result = {
        "cores": args.cores,
        "cpu_count": os.cpu_count(),
        "wall_seconds_all_entries": round(total, 1),
        "cpu_seconds_all_entries": round(cpu.ru_utime + cpu.ru_stime, 1),
        "load_average_1_5_15_at_end": [round(x, 2) for x in load],
        "note": "wall time is shared with other jobs on the same cores (see the load average); "
        "cpu seconds / cores bounds the wall time on cores of our own",
        "entries": len(rows),
        "samples": sum(r["samples"] for r in rows),
        "wang2017_agreement_pooled": {"n": n, "agree": agree, "fraction": round(agree / n, 4) if n else None},
        "per_dataset": rows,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "bulk.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "per_dataset"}, indent=1))
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
