"""Benchmark: neurosig's CellPhoneDB method against liana's and the cellphonedb package.

1. Simulates 20,000 and 100,000 cells x 20,000 genes (10x-like, 12 cell types, 50
   patients) once each (skipped if the files exist).
2. Runs, each in its own child process (time measured around the method after the same
   in-memory load; peak RSS of the child, load included):
   - ``liana.mt.cellphonedb`` (CellPhoneDB v5 resource, expr_prop 0.1, 1,000 shuffles,
     seed 1337, n_jobs 1);
   - ``neurosig.communicate.cellphonedb`` with the same resource, thresholds and shuffles
     and ``rules="liana"``, so that the results are comparable number for number
     (liana's p-value is ``n_null_hits / n_perms``), in memory and streamed from the
     file (``_disk``);
   - ``neurosig_cpdb``: neurosig with its default rules (those of the cellphonedb package);
   - with ``--cellphonedb N``, the ``cellphonedb`` 5.0.1 package itself
     (``cpdb_statistical_analysis_method``, one thread, ``--cellphonedb-db``: by default
     ``cellphonedb_v5/cellphonedb.zip`` of the first ``NEUROSIG_MIRRORS`` folder) on the
     data sets of at most N cells.
3. Checks, in the same run, that the tables agree: the same rows, max |difference| of
   ``lr_means`` and of the p-values (liana), and against the package, the Pearson
   correlation of the p-values and the rows significant (p < 0.05) in one only.
Writes ``benchmarks/results/communicate.json`` (or ``--out``). Not part of the test suite.

Usage::

    python benchmarks/bench_communicate.py [--cells 20000 100000] [--perms 1000] [--cellphonedb 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import contextlib, io, json, os, sys, tempfile, time, warnings, resource
warnings.simplefilter("ignore")
import anndata as ad, numpy as np, pandas as pd
path, contender, n_perms, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
from neurosig.communicate import cellphonedb, load_resource
res = load_resource("cellphonedb_v5")
disk = contender.endswith("_disk")
adata = path if disk else ad.read_h5ad(path)
if contender == "cellphonedb":
    from cellphonedb.src.core.methods import cpdb_statistical_analysis_method
    db = sys.argv[5]
    units = {g for e in pd.concat([res["ligand"], res["receptor"]]) for g in e.split("_")}
    adata = adata[:, adata.var_names.isin(units)].copy()  # the package reads a dense matrix
    adata.obs["cell_type"] = adata.obs["cell_type"].astype(str)
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
elif contender == "cellphonedb":
    with tempfile.TemporaryDirectory() as tmp:
        meta = os.path.join(tmp, "meta.tsv")
        pd.DataFrame({"barcode_sample": adata.obs_names, "cell_type": adata.obs["cell_type"]}).to_csv(
            meta, sep="\t", index=False)
        with contextlib.redirect_stdout(io.StringIO()):
            r = cpdb_statistical_analysis_method.call(
                cpdb_file_path=str(db), meta_file_path=meta, counts_file_path=adata,
                counts_data="gene_name", output_path=tmp, iterations=n_perms, threshold=0.1, threads=1,
                debug_seed=1, result_precision=12)
    seconds = time.perf_counter() - start
    long = []
    for what in ("means", "pvalues"):
        pairs = [c for c in r[what].columns if "|" in c]
        m = r[what].melt(id_vars=["partner_a", "partner_b"], value_vars=pairs, var_name="pair",
                         value_name=what)
        m[["source", "target"]] = m.pop("pair").str.split("|", expand=True)
        long.append(m)
    t = long[0].merge(long[1], on=["partner_a", "partner_b", "source", "target"])
    t = t.rename(columns={"partner_a": "ligand_id", "partner_b": "receptor_id", "means": "lr_means",
                          "pvalues": "pvalue"})
else:
    rules = "cellphonedb" if contender == "neurosig_cpdb" else "liana"
    # every row for the package (it reports rows below the detection threshold with p = 1)
    t = cellphonedb(adata, "cell_type", resource=res, n_perms=n_perms, seed=1337, rules=rules,
                    keep_all=contender == "neurosig_cpdb")
    seconds = time.perf_counter() - start
    t = t.rename(columns={"sender": "source", "receiver": "target"})
    t = t.assign(ligand_complex=t["ligand_units"], receptor_complex=t["receptor_units"])
    # liana's convention b / n_perms, for the comparison with liana
    t["pvalue_b_over_n"] = t["n_null_hits"] / n_perms
    t = t[["source", "target", "ligand_complex", "receptor_complex", "ligand_id", "receptor_id", "lr_means",
           "pvalue", "pvalue_b_over_n"]]
t.to_parquet(out)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT", json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb, "rows": len(t)}))
"""


def run_child(path: Path, contender: str, n_perms: int, out: Path, mem_limit_gb: float, db: str = "") -> dict:
    def limit():
        cap = int(mem_limit_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), contender, str(n_perms), str(out), db],
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
    """neurosig (``rules="liana"``) against liana: rows, means, and liana's p-value b / n."""
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
        "max_abs_diff_pvalue_b_over_n": float(np.abs(both["pvalue_liana"] - both["pvalue_b_over_n"]).max()),
    }


def agreement_package(ref_path: Path, ours_path: Path) -> dict:
    """neurosig (default rules, its own shuffles) against the cellphonedb package, rows by partner ids."""
    import numpy as np
    import pandas as pd

    key = ["source", "target", "ligand_id", "receptor_id"]
    ref, ours = pd.read_parquet(ref_path), pd.read_parquet(ours_path)
    m = ref.merge(ours, on=key, how="outer", suffixes=("_cpdb", "_neurosig"), indicator=True)
    both = m[m["_merge"] == "both"]
    tested = both["pvalue_neurosig"] < 1
    sig_c, sig_n = both["pvalue_cpdb"] < 0.05, both["pvalue_neurosig"] < 0.05
    return {
        "rows_cellphonedb": len(ref),
        "rows_neurosig": len(ours),
        "rows_only_one_side": int((m["_merge"] != "both").sum()),
        "max_abs_diff_lr_means": float(np.abs(both["lr_means_cpdb"] - both["lr_means_neurosig"]).max()),
        "pearson_pvalue_tested_rows": float(
            np.corrcoef(both.loc[tested, "pvalue_cpdb"], both.loc[tested, "pvalue_neurosig"])[0, 1]
        ),
        "significant_cellphonedb": int(sig_c.sum()),
        "significant_neurosig": int(sig_n.sum()),
        "significant_in_neurosig_only": int((sig_n & ~sig_c).sum()),
        "significant_in_cellphonedb_only": int((sig_c & ~sig_n).sum()),
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
    parser.add_argument(
        "--cellphonedb",
        type=int,
        default=0,
        metavar="N",
        help="also run the cellphonedb package (slow) on the data sets of at most N cells",
    )
    mirror = os.environ.get("NEUROSIG_MIRRORS", "").split(os.pathsep)[0]
    parser.add_argument(
        "--cellphonedb-db",
        default=str(Path(mirror) / "cellphonedb_v5" / "cellphonedb.zip") if mirror else "",
        help="the cellphonedb package's database (cellphonedb.zip of CellPhoneDB v5)",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "communicate.json")
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
        contenders = ["neurosig", "neurosig_disk", "neurosig_cpdb", "liana"]
        if cells <= args.cellphonedb:
            contenders.append("cellphonedb")
        for contender in contenders:
            outs[contender] = args.workdir / f"bench_comm_{cells}_{contender}.parquet"
            outcome = run_child(
                data, contender, args.perms, outs[contender], args.mem_limit_gb, args.cellphonedb_db
            )
            run["results"].append(outcome)
        res = {r["contender"]: r for r in run["results"]}
        if res.get("cellphonedb", {}).get("ok") and res["neurosig_cpdb"].get("ok"):
            run["agreement_cellphonedb"] = agreement_package(outs["cellphonedb"], outs["neurosig_cpdb"])
            run["cellphonedb_time_over_neurosig_cpdb"] = round(
                res["cellphonedb"]["seconds"] / res["neurosig_cpdb"]["seconds"], 1
            )
        if all(res[c].get("ok") for c in ("neurosig", "neurosig_disk", "liana")):
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
        args.out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
