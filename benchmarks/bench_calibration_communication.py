"""Calibration of the communication claims' per-patient test, through ``tl.test_claims``.

The null of CellPhoneDB's test is "no cell-type specificity": the cell-type labels are
shuffled within each patient before ``tl.communicate(sample_key="patient")``; then the
claims C8 (CCL2 -> CCR2) and C6 (CD274 -> PDCD1) are tested. Reported: the rate at which
a patient's within-patient test (Simes over the claim's candidate pairs) has p < 0.05
(target <= 0.05), and the rate at which the claim (binomial over patients) has p < 0.05.
Same datasets as ``bench_calibration.py`` (10x, one malignant state, 8 patients).

Usage::

    python benchmarks/bench_calibration_communication.py [--reps 300]
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from bench_calibration import _params, _quiet, _row, _shuffle_types

ROOT = Path(__file__).resolve().parent.parent
CLAIMS = ("C8", "C6")


def _one(args) -> dict:
    seed, cells, genes, n_perms = args
    _quiet()
    from neurosig import tl
    from neurosig.sim import simulate_adata

    a = simulate_adata(_params(n_patients=8, n_cells=8 * cells, n_genes=genes, seed=seed))
    a.obs["cell_type_shuffled"] = _shuffle_types(a, seed)
    tl.communicate(
        a, "cell_type_shuffled", sample_key="patient", n_perms=n_perms, resource="cellphonedb_v5", seed=seed
    )
    out = {"seed": seed}
    for c in CLAIMS:
        ev = tl.test_claims(a, only=[c], seed=seed, inplace=False)
        out[c] = _row(ev)
        out[c]["patient_p"] = [float(r["pvalue"]) for r in ev.attrs["per_patient"]]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--cells", type=int, default=150)
    ap.add_argument("--genes", type=int, default=1500)
    ap.add_argument("--n-perms", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "calibration_communication.json"))
    args = ap.parse_args()
    _quiet()
    import neurosig

    t0 = time.time()
    jobs = [(args.seed + r, args.cells, args.genes, args.n_perms) for r in range(args.reps)]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(_one, jobs))
    summary = {}
    for c in CLAIMS:
        testable = [r[c] for r in rows if r[c]["verdict"] != "not testable"]
        pp = np.array([p for r in testable for p in r["patient_p"]])
        claim_p = np.array([r["pvalue"] for r in testable if r["pvalue"] is not None])
        summary[c] = {
            "datasets": len(rows),
            "testable": len(testable),
            "patients": int(pp.size),
            "patient_rejection_rate": float(np.mean(pp < 0.05)) if pp.size else None,
            "claim_rejection_rate": float(np.mean(claim_p < 0.05)) if claim_p.size else None,
            "false_verdicts": sum(r["verdict"] in ("supported", "contradicted") for r in testable),
        }
    result = {
        "neurosig": neurosig.__version__,
        "parameters": vars(args),
        "null": "cell-type labels shuffled within each patient before tl.communicate",
        "summary": summary,
        "wall_seconds": round(time.time() - t0, 1),
    }
    Path(args.out).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
