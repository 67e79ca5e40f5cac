"""Null calibration of the bulk and multi-region claim levels (tumour, region, survival, pooled).

Simulated cohorts (``tests/claims/bulk_inputs.py``) with confounding but no direct
association: the neural score and the CD8 score both follow purity and the GBM subtype,
survival follows age and GBM; the multi-region atlas's samples follow purity. Each path
is the library's own ``test_claims`` (one claim at a time, so q = p) or ``pool_evidence``.
A rejection is p < 0.05 of the adjusted estimate (the verdict's); the raw estimate's
rejection shows what the confounding alone does.

Run: ``python benchmarks/bench_calibration_bulk.py --reps 1000 --survival-reps 300``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neurosig.claims import load_claims, pool_evidence  # noqa: E402
from neurosig.tl import test_claims  # noqa: E402
from tests.claims.bulk_inputs import simulated_atlas, simulated_cohort  # noqa: E402

KEY = "sim_scores"


def _rates(rows: list[dict]) -> dict:
    p = np.array([r["p"] for r in rows], float)
    raw = np.array([r.get("p_raw", np.nan) for r in rows], float)
    verdicts = [r["verdict"] for r in rows]
    ok = np.isfinite(p)
    return {
        "datasets": len(rows),
        "testable": float(ok.mean()),
        "rejection": float((p[ok] < 0.05).mean()),
        "rejections": int((p[ok] < 0.05).sum()),
        "binomial_sd": float(np.sqrt(0.05 * 0.95 / max(ok.sum(), 1))),
        "false_verdicts": float(np.mean([v in ("supported", "contradicted") for v in verdicts])),
        "raw_rejection": float((raw[np.isfinite(raw)] < 0.05).mean()) if np.isfinite(raw).any() else None,
    }


def main() -> None:
    """Run every path and write the rates (and the design) to ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--survival-reps", type=int, default=300)
    ap.add_argument("--pool-reps", type=int, default=400)
    ap.add_argument("--tumours", type=int, default=80)
    ap.add_argument("--cohorts", type=int, default=8)
    ap.add_argument("--cohort-tumours", type=int, default=50)
    ap.add_argument("--patients", type=int, default=12)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "calibration_bulk.json"))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    doc = load_claims()
    paths: dict[str, list[dict]] = {
        "tumour": [],
        "survival_per_sd": [],
        "survival_high_vs_low": [],
        "pooled_tumour": [],
        "region": [],
    }
    timing = {}

    def row(ev, claim):
        r = ev[ev["claim"] == claim].iloc[0]
        return {"p": r["pvalue"], "p_raw": r.get("pvalue_unadjusted", np.nan), "verdict": r["verdict"]}

    t0 = time.time()
    for rep in range(args.reps):
        seed = args.seed + rep
        a = simulated_cohort(args.tumours, seed, key=KEY)
        claims = ["B1_bulk"] + (["S1", "S1_high"] if rep < args.survival_reps else [])
        ev = test_claims(a, doc, only=claims, score_key=KEY, inplace=False, seed=seed)
        paths["tumour"].append(row(ev, "B1_bulk"))
        if rep < args.survival_reps:
            paths["survival_per_sd"].append(row(ev, "S1"))
            paths["survival_high_vs_low"].append(row(ev, "S1_high"))
        b = simulated_atlas(args.patients, args.samples, seed, key=KEY)
        evb = test_claims(b, doc, only=["B1_region"], score_key=KEY, inplace=False, seed=seed)
        r = row(evb, "B1_region")
        r["lmm_p"] = float(evb["lmm_pvalue"].iloc[0])
        paths["region"].append(r)
    timing["per_dataset_paths_s"] = round(time.time() - t0, 1)
    t0 = time.time()
    for rep in range(args.pool_reps):
        tables = []
        for c in range(args.cohorts):
            seed = args.seed + 10_000_000 + rep * 100 + c
            a = simulated_cohort(args.cohort_tumours, seed, key=KEY)
            tables.append(test_claims(a, doc, only=["B1_bulk"], score_key=KEY, inplace=False, seed=seed))
        pooled = pool_evidence(tables)
        r = pooled[pooled["dataset"] == "pooled"].iloc[0]
        paths["pooled_tumour"].append({"p": r["pvalue"], "verdict": r["verdict"]})
    timing["pooled_s"] = round(time.time() - t0, 1)
    result = {path: _rates(rows) for path, rows in paths.items()}
    lmm = np.array([r["lmm_p"] for r in paths["region"]], float)
    result["region"]["lmm_rejection"] = float((lmm[np.isfinite(lmm)] < 0.05).mean())
    out = {
        "design": vars(args),
        "timing": timing,
        "rates": result,
        "band": [0.03, 0.07],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
