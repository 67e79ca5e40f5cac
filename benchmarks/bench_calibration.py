"""Calibration and power of the claims engine's patient-aware tests, on the simulator.

With no planted effect, each test should reject at alpha = 0.05 in 3-7% of datasets;
with 1,000 datasets a correct test lands in that band with room to spare (binomial SD
0.7%). In the same datasets, a naive test that pools all cells and ignores patients is
shown to be anti-conservative. With planted effects, power is reported by effect size
and number of patients.

Tests (claim A1, neural-interaction vs MHC-I in malignant cells; claim B1, patient mean
neural score vs CD8 fraction):

* ``cell_meta_hk``   within-patient Spearman, random-effects pooled, Hartung-Knapp (the engine)
* ``cell_meta_dl``   the same with plain DerSimonian-Laird intervals (shown for contrast)
* ``cell_lmm``       linear mixed model with a patient random intercept (the cross-check)
* ``cell_naive``     Spearman over all malignant cells, patients ignored
* ``patient_glm``    quasi-binomial GLM of CD8 counts on the patient mean (the engine)
* ``patient_naive_binomial`` the same GLM without the dispersion (binomial), for contrast

Each dataset: ``--patients`` (8) x ``--cells`` (300) cells, 1,000 genes, its own seed;
``patient_sd`` 0.3 (per-gene patient effects) and Dirichlet compositions as the
simulator fits them. Writes ``benchmarks/results/calibration.json``.

Usage::

    python benchmarks/bench_calibration.py [--reps 1000] [--power-reps 200]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ALPHA = 0.05


def _one(args) -> dict:
    seed, n_patients, cells, mhc, comp = args
    warnings.simplefilter("ignore")
    from scipy import stats as sps

    from neurosig.claims import stats
    from neurosig.claims.engine import _cell_values, _Context, _genes_of, _patient_values
    from neurosig.claims.registry import load_claims
    from neurosig.sim import SimParams, simulate_adata

    params = SimParams(
        n_patients=n_patients,
        n_cells=n_patients * cells,
        n_genes=1000,
        seed=seed,
        neural_loading=0.6 if mhc else 0.0,
        mhc_effect=mhc,
        composition_effects={"T_CD8": comp} if comp else {},
    )
    a = simulate_adata(params)
    claims = load_claims()["claims"]
    ctx = _Context(a, {"sorted_cell_id_patterns": []}, seed)
    a1 = claims["A1"]
    x = _cell_values(ctx, "x", _genes_of(a1["x"]), a1["x"])
    y = _cell_values(ctx, "y", _genes_of(a1["y"]), a1["y"])
    mal = (a.obs["cell_type"] == "malignant").to_numpy()
    pats = a.obs["patient"].astype(str).to_numpy()
    ng = a.obs["n_genes"].to_numpy(float)
    rhos, ns = [], []
    for p in np.unique(pats[mal]):
        m = mal & (pats == p)
        if m.sum() >= 20:
            r, _ = stats.spearman(x[m], y[m])
            if np.isfinite(r):
                rhos.append(r)
                ns.append(m.sum())
    z, v = stats.fisher_z(np.array(rhos), np.array(ns))
    hk = stats.random_effects(z, v).pvalue
    dl = stats.random_effects(z, v, hartung_knapp=False).pvalue
    lmm = stats.mixed_model(y[mal], x[mal], pats[mal], ng[mal])[3]
    naive = sps.spearmanr(x[mal], y[mal]).pvalue
    b1 = claims["B1"]
    xv, _ = _patient_values(ctx, "bx", _genes_of(b1["x"]), b1["x"])
    yv, tot = _patient_values(ctx, "by", None, b1["y"])
    common = xv.index.intersection(yv.index)
    glm = stats.quasibinomial(yv[common].to_numpy(), tot[common].to_numpy(), xv[common].to_numpy())
    import statsmodels.api as sm

    design = sm.add_constant((xv[common] - xv[common].mean()) / xv[common].std(ddof=0))
    endog = np.column_stack([yv[common], tot[common] - yv[common]])
    binom = sm.GLM(endog, design, family=sm.families.Binomial()).fit().pvalues.iloc[1]
    return {
        "cell_meta_hk": hk,
        "cell_meta_dl": dl,
        "cell_lmm": lmm,
        "cell_naive": naive,
        "patient_glm": glm[3],
        "patient_naive_binomial": float(binom),
        "a1_sign": float(np.sign(np.mean(rhos))),
        "b1_sign": float(np.sign(glm[0])),
    }


def _rates(results: list[dict], keys: list[str]) -> dict:
    out = {}
    for k in keys:
        p = np.array([r[k] for r in results], dtype=float)
        p = p[np.isfinite(p)]
        out[k] = {"rejection_rate": round(float(np.mean(p < ALPHA)), 4), "n": int(p.size)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--power-reps", type=int, default=200)
    parser.add_argument("--patients", type=int, default=8)
    parser.add_argument("--cells", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from neurosig._provenance import package_versions

    keys = ["cell_meta_hk", "cell_meta_dl", "cell_lmm", "cell_naive", "patient_glm", "patient_naive_binomial"]
    record = {"alpha": ALPHA, "versions": package_versions(), "design": vars(args)}
    out = Path(__file__).parent / "results" / "calibration.json"
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        null = list(
            pool.map(_one, [(10_000 + s, args.patients, args.cells, 0.0, 0.0) for s in range(args.reps)])
        )
        record["null"] = _rates(null, keys)
        record["null_seconds"] = round(time.perf_counter() - start, 1)
        print(json.dumps(record["null"]), flush=True)
        out.write_text(json.dumps(record, indent=1))
        power = []
        for n_pat in (4, 8, 16):
            for mhc, comp in ((-0.1, -0.25), (-0.25, -0.5), (-0.5, -1.0)):
                jobs = [(50_000 + s, n_pat, args.cells, mhc, comp) for s in range(args.power_reps)]
                res = list(pool.map(_one, jobs))
                rates = _rates(res, ["cell_meta_hk", "cell_lmm", "patient_glm"])
                right_a1 = np.mean([(r["cell_meta_hk"] < ALPHA) and r["a1_sign"] < 0 for r in res])
                right_b1 = np.mean([(r["patient_glm"] < ALPHA) and r["b1_sign"] < 0 for r in res])
                row = {
                    "patients": n_pat,
                    "mhc_effect": mhc,
                    "cd8_composition_effect": comp,
                    "power_A1_meta_hk": round(float(right_a1), 3),
                    "power_A1_lmm": rates["cell_lmm"]["rejection_rate"],
                    "power_B1_glm": round(float(right_b1), 3),
                    "reps": args.power_reps,
                }
                power.append(row)
                print(json.dumps(row), flush=True)
                record["power"] = power
                out.write_text(json.dumps(record, indent=1))
    record["seconds"] = round(time.perf_counter() - start, 1)
    out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
