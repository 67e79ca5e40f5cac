"""Benchmark: neurosig's CellPhoneDB method against liana's, on simulated data, same run.

1. Simulates 20,000 and 100,000 cells x 20,000 genes (10x-like, 12 cell types, 50
   patients) once each (skipped if the files exist).
2. Runs, each in its own child process (time measured around the method after the same
   in-memory load; peak RSS of the child, load included):
   - ``liana.mt.cellphonedb`` (CellPhoneDB v5 resource, expr_prop 0.1, 1,000 shuffles,
     seed 1337, n_jobs 1);
   - ``neurosig.communicate.cellphonedb`` with the same resource, thresholds and shuffles
     (``complex_null="liana"`` so that the results are comparable number for number),
     in memory and streamed from the file (``_disk``).
3. Checks, in the same run, that the tables agree: the same rows, max |difference| of
   ``lr_means`` and of the p-values.
Writes ``benchmarks/results/communicate.json``. Not part of the test suite.

Usage::

    python benchmarks/bench_communicate.py [--cells 20000 100000] [--perms 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, sys, time, warnings, resource
warnings.simplefilter("ignore")
import anndata as ad, numpy as np, pandas as pd
path, contender, n_perms, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
from neurosig.communicate import cellphonedb, load_resource
res = load_resource("cellphonedb_v5")
disk = contender.endswith("_disk")
adata = path if disk else ad.read_h5ad(path)
start = time.perf_counter()
if contender == "liana":
    import liana as li
    li.mt.cellphonedb(adata, groupby="cell_type", resource=res[["ligand", "receptor"]].drop_duplicates(),
                      expr_prop=0.1, min_cells=5, use_raw=False, n_perms=n_perms, seed=1337, n_jobs=1,
                      verbose=False, key_added="ref")
    seconds = time.perf_counter() - start
    cols = ["source", "target", "ligand_complex", "receptor_complex", "lr_means", "cellphone_pvals"]
    t = adata.uns["ref"][cols]
    t = t.rename(columns={"cellphone_pvals": "pvalue"})
else:
    t = cellphonedb(adata, "cell_type", resource=res, n_perms=n_perms, seed=1337, complex_null="liana")
    seconds = time.perf_counter() - start
    t = t.rename(columns={"sender": "source", "receiver": "target"})
    t = t.assign(ligand_complex=t["ligand_units"], receptor_complex=t["receptor_units"])
    t = t[["source", "target", "ligand_complex", "receptor_complex", "lr_means", "pvalue"]]
t.to_parquet(out)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT", json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb, "rows": len(t)}))
"""


def run_child(path: Path, contender: str, n_perms: int, out: Path, mem_limit_gb: float) -> dict:
    def limit():
        cap = int(mem_limit_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), contender, str(n_perms), str(out)],
        capture_output=True,
        text=True,
        preexec_fn=limit,
    )
    record = {"contender": contender, "wall_with_load_s": round(time.perf_counter() - start, 1)}
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not line:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or [""]
        record.update({"ok": False, "error": tail[0][:300], "returncode": proc.returncode})
    else:
        result = json.loads(line[0][7:])
        record.update(
            {
                "ok": True,
                "seconds": round(result["seconds"], 2),
                "peak_rss_mb": round(result["peak_rss_mb"], 1),
                "rows": result["rows"],
            }
        )
    print(json.dumps(record), flush=True)
    return record


def agreement(ref_path: Path, ours_path: Path) -> dict:
    import numpy as np
    import pandas as pd

    key = ["source", "target", "ligand_complex", "receptor_complex"]
    ref, ours = pd.read_parquet(ref_path), pd.read_parquet(ours_path)
    m = ref.merge(ours, on=key, how="outer", suffixes=("_liana", "_neurosig"), indicator=True)
    both = m[m["_merge"] == "both"]
    return {
        "rows_liana": len(ref),
        "rows_neurosig": len(ours),
        "rows_only_one_side": int((m["_merge"] != "both").sum()),
        "max_abs_diff_lr_means": float(np.abs(both["lr_means_liana"] - both["lr_means_neurosig"]).max()),
        "max_abs_diff_pvalue": float(np.abs(both["pvalue_liana"] - both["pvalue_neurosig"]).max()),
    }


def twelve_types() -> dict[str, float]:
    """The simulator's default composition without endothelial cells (their 1% go to Tregs)."""
    from neurosig.sim._params import DEFAULT_COMPOSITION

    comp = dict(DEFAULT_COMPOSITION)
    comp["Treg"] += comp.pop("endothelial")
    return comp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--perms", type=int, default=1000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp"))
    parser.add_argument("--mem-limit-gb", type=float, default=22.0)
    args = parser.parse_args()

    from neurosig._provenance import package_versions
    from neurosig.sim import SimParams, simulate

    record = {"genes": args.genes, "n_perms": args.perms, "versions": package_versions(), "runs": []}
    for cells in args.cells:
        data = args.workdir / f"neurosig_bench_comm_{cells}.h5ad"
        if not data.exists():
            params = SimParams(
                n_patients=50,
                n_cells=cells,
                n_genes=args.genes,
                technology="tenx",
                composition=twelve_types(),
                seed=2,
            )
            simulate(params, data, progress=False)
        run = {"cells": cells, "results": []}
        outs = {}
        for contender in ("neurosig", "neurosig_disk", "liana"):
            outs[contender] = args.workdir / f"bench_comm_{cells}_{contender}.parquet"
            run["results"].append(run_child(data, contender, args.perms, outs[contender], args.mem_limit_gb))
        res = {r["contender"]: r for r in run["results"]}
        if all(r.get("ok") for r in run["results"]):
            run["agreement"] = agreement(outs["liana"], outs["neurosig"])
            run["agreement_disk"] = agreement(outs["liana"], outs["neurosig_disk"])
            run["liana_time_over_neurosig"] = round(res["liana"]["seconds"] / res["neurosig"]["seconds"], 1)
            run["liana_time_over_neurosig_disk"] = round(
                res["liana"]["seconds"] / res["neurosig_disk"]["seconds"], 1
            )
            run["liana_rss_over_neurosig_disk"] = round(
                res["liana"]["peak_rss_mb"] / res["neurosig_disk"]["peak_rss_mb"], 2
            )
        print(json.dumps(run), flush=True)
        record["runs"].append(run)
        out = Path(__file__).parent / "results" / "communicate.json"
        out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
