"""Null calibration (and power) of the paired level (proxy P5), on the simulator.

Every number comes from the library's own :func:`neurosig.tl.test_claims`; nothing is
re-implemented. Each dataset: ``--patients`` patients x ``--cells`` cells, two regions
(HFC, LFC; cells split evenly within each patient), 10x technology, ``--genes`` genes.
Claim ``P5_inflammatory_tumour`` (HFC - LFC of the Hallmark inflammatory-response score
in malignant cells, standardised within patient; exact sign-flip permutation over
patients) is tested alone (q = p).

* **null**: no region effect; patient random effects (``patient_sd``) as the simulator's
  default, so patients differ but regions within a patient do not. A rejection is
  p < 0.05; a false verdict is ``supported`` or ``contradicted``. The attainable level of
  the exact test (largest p <= 0.05 it can give: 2k/2^n) is reported beside the rate.
* **power**: the inflammatory set's genes multiplied by exp(``--effect``) in HFC
  malignant cells; only ``supported`` counts.

Writes ``benchmarks/results/calibration_paired.json``.

Usage::

    python benchmarks/bench_calibration_paired.py [--reps 200] [--power-reps 30]
        [--patients 6 8 12] [--cells 600] [--genes 800] [--effect -0.2]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np

import neurosig
from neurosig.claims.stats import _all_signs
from neurosig.sim import RegionEffect, SimParams, simulate_adata
from neurosig.tl import test_claims

CLAIM = "P5_inflammatory_tumour"
SET = "HALLMARK_INFLAMMATORY_RESPONSE"


def attainable(n: int, alpha: float = 0.05) -> float:
    """Largest p <= alpha the exact sign-flip test can give with n untied |differences|."""
    if n > 16:
        return alpha
    rng = np.random.default_rng(0)
    d = rng.uniform(1, 2, n)  # generic magnitudes: no ties among the 2^n sums
    null = np.abs(_all_signs(n) @ d)
    ps = np.array([(null >= t - 1e-12).mean() for t in np.unique(null)])
    return float(ps[ps <= alpha].max()) if (ps <= alpha).any() else 0.0


def one(n_patients: int, cells: int, genes: int, effect: float, seed: int) -> dict:
    """Simulate one paired dataset and test the claim on it."""
    p = SimParams(
        n_patients=n_patients,
        n_cells=n_patients * cells,
        n_genes=genes,
        technology="tenx",
        regions=("HFC", "LFC"),
        region_effects=(RegionEffect("HFC", "malignant", SET, effect),),  # 0: genes kept, no change
        state_composition={"MES": 1.0, "AC": 0.0, "OPC": 0.0, "NPC": 0.0},
        seed=seed,
    )
    a = simulate_adata(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = test_claims(a, only=[CLAIM], inplace=False, seed=seed).iloc[0]
    return {
        "seed": seed,
        "effect": float(row["effect"]),
        "pvalue": float(row["pvalue"]),
        "verdict": row["verdict"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--power-reps", type=int, default=30)
    ap.add_argument("--patients", type=int, nargs="+", default=[6, 8, 12])
    ap.add_argument("--cells", type=int, default=600, help="cells per patient (both regions)")
    ap.add_argument("--genes", type=int, default=800)
    ap.add_argument("--effect", type=float, default=-0.2, help="log-fold of the planted HFC effect")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "calibration_paired.json")
    args = ap.parse_args()
    t0 = time.time()
    out = {
        "design": vars(args) | {"out": str(args.out), "claim": CLAIM},
        "neurosig_version": neurosig.__version__,
        "platform": platform.platform(),
        "null": {},
        "power": {},
    }
    for n in args.patients:
        rows = [one(n, args.cells, args.genes, 0.0, 20261130 + r) for r in range(args.reps)]
        rej = sum(r["pvalue"] < 0.05 for r in rows)
        false = sum(r["verdict"] in ("supported", "contradicted") for r in rows)
        out["null"][str(n)] = {
            "datasets": len(rows),
            "rejection": rej / len(rows),
            "rejections": rej,
            "false_verdicts": false / len(rows),
            "attainable_level": attainable(n),
            "mean_effect": float(np.mean([r["effect"] for r in rows])),
            "sd_effect": float(np.std([r["effect"] for r in rows])),
        }
        print(n, out["null"][str(n)], flush=True)
        if args.power_reps:
            rows = [one(n, args.cells, args.genes, args.effect, 30261130 + r) for r in range(args.power_reps)]
            out["power"][str(n)] = {
                "datasets": len(rows),
                "supported": sum(r["verdict"] == "supported" for r in rows) / len(rows),
                "mean_effect": float(np.mean([r["effect"] for r in rows])),
            }
            print(n, "power", out["power"][str(n)], flush=True)
    out["wall_s"] = round(time.time() - t0, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.part")
    tmp.write_text(json.dumps(out, indent=2))
    tmp.replace(args.out)
    print(f"wrote {args.out} in {out['wall_s']} s")


if __name__ == "__main__":
    main()
