"""Calibration of every test path of the claims engine, and power, on the simulator.

Every number comes from the library's own :func:`neurosig.tl.test_claims` (and
:func:`neurosig.tl.communicate` for communication claims); nothing is re-implemented.
Each claim is tested alone (``only=[claim]``), so its q-value is its p-value.

1. **Null rejection per path** (``--reps`` datasets, no planted effect, single MES
   malignant state, 10x technology, ``--genes`` genes kept; claim genes are checked for
   coverage and the fraction of testable datasets is reported):

   * cell-level meta-analysis: claim A1, 8 patients x ``--cells`` cells;
   * patient-level Spearman (exact permutation null n <= 10, Monte Carlo above): claim
     B5 at 5, 6, 8 and 12 patients (5 and 6 are the first patients of the 12-patient
     dataset; 8 is the 8-patient dataset); the attainable level of the exact test is
     reported beside the rate (at n = 5 no level between 1/60 and 0.067 exists);
   * patient-level composition, quasi-binomial GLM: claim B1, 8 patients;
   * communication per patient (CellPhoneDB permutation within each patient, Simes over
     the claim's pairs, then a one-sided binomial test of the significant patients against
     0.05): claims C8 and C6 in the 8-patient dataset after the cell-type labels are
     shuffled within each patient (no cell-type specificity: CellPhoneDB's null), on the
     first ``--comm-reps`` datasets. The per-patient rejection rate and the claim-level
     rate are both reported; the claim-level test's attainable level (binomial, discrete)
     is reported beside it.

   A rejection is p < 0.05 of the engine's row; a false verdict is ``supported`` or
   ``contradicted``.

2. **Null atlases**: ``--atlas-cells`` x 24 patients (all genes) and 2,400 x 24, no
   planted effect; tl.communicate(sample_key="patient") then every claim. Communication
   claims are also tested after shuffling the cell-type labels within patients (the
   simulator's fitted profiles carry real cell-type specificity, so "present" is not a null
   with the true labels).

3. **Power** (``--power-reps`` datasets per cell): A1 with a planted MHC-I loss (neural
   loading 0.6) at 4, 8, 16 patients; B1 with a planted CD8 composition effect (neural
   loading 0.6, so that the malignant neural score carries the tumour-level latent) at 8,
   16, 24 patients. Only ``supported`` counts.

Writes ``benchmarks/results/calibration.json``.

Usage::

    python benchmarks/bench_calibration.py [--reps 1000] [--comm-reps 1000] [--power-reps 100]
        [--atlas-cells 100000] [--cells 200] [--workers 2] [--deadline-min M]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import subprocess
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

ALPHA = 0.05
MES = {"MES": 1.0, "AC": 0.0, "OPC": 0.0, "NPC": 0.0}
SPEARMAN_NS = (5, 6, 8, 12)
COMM_CLAIMS = ("C8", "C6")
ROOT = Path(__file__).resolve().parents[1]


def _quiet() -> None:
    import logging

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)


def _params(**kw):
    from neurosig.sim import SimParams

    base = {"technology": "tenx", "state_composition": MES}
    base.update(kw)
    return SimParams(**base)


def _row(table) -> dict:
    r = table.iloc[0]

    def f(k):
        v = r.get(k)
        try:
            v = float(v)
        except (TypeError, ValueError):
            return None
        return v if np.isfinite(v) else None

    return {
        "verdict": str(r["verdict"]),
        "effect": f("effect"),
        "pvalue": f("pvalue"),
        "effect_unadjusted": f("effect_unadjusted"),
        "pvalue_unadjusted": f("pvalue_unadjusted"),
        "n_patients": f("n_patients"),
        "coverage": str(r.get("coverage", "")),
        "reason": str(r.get("reason", ""))[:200],
    }


def _shuffle_types(a, seed: int, key: str = "cell_type") -> np.ndarray:
    """The cell-type labels permuted within each patient."""
    rng = np.random.default_rng(seed)
    ct = a.obs[key].astype(str).to_numpy().copy()
    pats = a.obs["patient"].astype(str).to_numpy()
    for p in np.unique(pats):
        m = pats == p
        ct[m] = rng.permutation(ct[m])
    return ct


def _null_one(args) -> dict:
    rep, seed, cells, genes, n_perms, with_comm = args
    _quiet()
    from neurosig import tl
    from neurosig.sim import simulate_adata

    out: dict = {"rep": rep, "seed": seed}
    a = simulate_adata(_params(n_patients=8, n_cells=8 * cells, n_genes=genes, seed=seed))
    out["A1"] = _row(tl.test_claims(a, only=["A1"], seed=seed, inplace=False))
    out["B1"] = _row(tl.test_claims(a, only=["B1"], seed=seed, inplace=False))
    out["B5_n8"] = _row(tl.test_claims(a, only=["B5"], seed=seed, inplace=False))
    if with_comm:
        a.obs["cell_type_shuffled"] = _shuffle_types(a, seed)
        tl.communicate(
            a,
            "cell_type_shuffled",
            sample_key="patient",
            n_perms=n_perms,
            resource="cellphonedb_v5",
            seed=seed,
        )
        for c in COMM_CLAIMS:
            out[c] = _row(tl.test_claims(a, only=[c], seed=seed, inplace=False))
    # patient-level Spearman at 12 patients, and at 5 and 6 (the first patients of it)
    b = simulate_adata(
        _params(n_patients=12, n_cells=12 * max(cells // 2, 60), n_genes=genes, seed=seed + 500_000)
    )
    pats = sorted(b.obs["patient"].astype(str).unique())
    for n in (5, 6, 12):
        sub = b if n == 12 else b[b.obs["patient"].astype(str).isin(pats[:n])].copy()
        out[f"B5_n{n}"] = _row(tl.test_claims(sub, only=["B5"], seed=seed, inplace=False))
    return out


def _power_one(args) -> dict:
    kind, effect, n_patients, rep, seed, cells, genes = args
    _quiet()
    from neurosig import tl
    from neurosig.sim import simulate_adata

    planted = {"mhc_effect": effect} if kind == "A1" else {"composition_effects": {"T_CD8": effect}}
    p = _params(
        n_patients=n_patients,
        n_cells=n_patients * cells,
        n_genes=genes,
        seed=seed,
        neural_loading=0.6,
        **planted,
    )
    a = simulate_adata(p)
    r = _row(tl.test_claims(a, only=[kind], seed=seed, inplace=False))
    return {**r, "kind": kind, "planted": effect, "n_planted_patients": n_patients, "rep": rep, "seed": seed}


def _atlas(args) -> dict:
    n_cells, n_patients, seed, n_perms, resource = args
    _quiet()
    import resource as res

    from neurosig import tl
    from neurosig.sim import simulate_adata

    t0 = time.time()
    a = simulate_adata(_params(n_patients=n_patients, n_cells=n_cells, seed=seed))
    t_sim = time.time() - t0
    t0 = time.time()
    tl.communicate(a, "cell_type", sample_key="patient", n_perms=n_perms, resource=resource, seed=seed)
    t_comm = time.time() - t0
    t0 = time.time()
    table = tl.test_claims(a, seed=seed)
    t_claims = time.time() - t0
    cols = [
        "claim",
        "level",
        "expected",
        "verdict",
        "effect",
        "effect_unadjusted",
        "pvalue",
        "pvalue_unadjusted",
        "qvalue",
        "n_patients",
        "reason",
    ]
    rows = json.loads(table[cols].to_json(orient="records"))
    for r in rows:
        r["reason"] = (r["reason"] or "")[:160]
    # communication claims again with the labels shuffled within patients
    t0 = time.time()
    a.obs["cell_type_shuffled"] = _shuffle_types(a, seed)
    tl.communicate(
        a, "cell_type_shuffled", sample_key="patient", n_perms=n_perms, resource=resource, seed=seed
    )
    comm_ids = [c for c in table["claim"][table["level"] == "communication"]]
    shuf = tl.test_claims(a, only=comm_ids, seed=seed, inplace=False)
    t_shuf = time.time() - t0
    srows = json.loads(shuf[cols].to_json(orient="records"))
    for r in srows:
        r["reason"] = (r["reason"] or "")[:160]
    return {
        "n_cells": int(a.n_obs),
        "n_genes": int(a.n_vars),
        "n_patients": n_patients,
        "seed": seed,
        "n_perms": n_perms,
        "resource": resource,
        "rows": rows,
        "shuffled_communication_rows": srows,
        "seconds": {
            "simulate": round(t_sim, 1),
            "communicate": round(t_comm, 1),
            "test_claims": round(t_claims, 1),
            "shuffled_communication": round(t_shuf, 1),
        },
        "peak_rss_mb": round(res.getrusage(res.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


# ---------------------------------------------------------------- summaries


def _rate(k: int, n: int) -> dict:
    return {
        "k": int(k),
        "n": int(n),
        "rate": (k / n) if n else None,
        "binomial_sd": math.sqrt(ALPHA * (1 - ALPHA) / n) if n else None,
    }


def _spearman_attainable(n: int) -> float:
    """Largest attainable p <= alpha of the engine's Spearman permutation test (no ties)."""
    from neurosig.claims import stats

    if n > stats.EXACT_MAX_N:
        return ALPHA  # Monte Carlo with 20,000 orderings: effectively continuous
    null = stats._untied_null(n)
    vals = np.unique(null)
    ps = np.array([(null >= v - 1e-12).mean() for v in vals])
    ok = ps[ps <= ALPHA + 1e-12]
    return float(ok.max()) if ok.size else 0.0


def _binom_attainable(n: int) -> float:
    from scipy import stats as sps

    sf = [sps.binom.sf(k - 1, n, ALPHA) for k in range(n + 2)]
    ok = [p for p in sf if p <= ALPHA]
    return float(max(ok)) if ok else 0.0


def _summarise_path(rows: list[dict]) -> dict:
    testable = [r for r in rows if r["verdict"] != "not testable"]
    rej = sum(1 for r in testable if r["pvalue"] is not None and r["pvalue"] < ALPHA)
    false = sum(1 for r in testable if r["verdict"] in ("supported", "contradicted"))
    rej_u = [r for r in testable if r.get("pvalue_unadjusted") is not None]
    out = {
        "n_datasets": len(rows),
        "fraction_testable": len(testable) / len(rows) if rows else None,
        "rejection": _rate(rej, len(testable)),
        "false_verdict": _rate(false, len(testable)),
        "verdicts": {
            v: sum(1 for r in rows if r["verdict"] == v) for v in sorted({r["verdict"] for r in rows})
        },
        "not_testable_reasons": sorted({r["reason"] for r in rows if r["verdict"] == "not testable"})[:5],
        "coverage_examples": sorted({r["coverage"] for r in testable})[:3],
    }
    if rej_u:
        k = sum(1 for r in rej_u if r["pvalue_unadjusted"] < ALPHA)
        out["rejection_unadjusted"] = _rate(k, len(rej_u))
    return out


def _summarise_comm(rows: list[dict]) -> dict:
    out = _summarise_path(rows)
    testable = [r for r in rows if r["verdict"] != "not testable" and r["n_patients"]]
    k_sig = sum(round(r["effect"] * r["n_patients"]) for r in testable)
    n_pat = sum(int(r["n_patients"]) for r in testable)
    out["per_patient_rejection"] = _rate(k_sig, n_pat)
    out["mean_patients_tested"] = n_pat / len(testable) if testable else None
    att = [_binom_attainable(int(r["n_patients"])) for r in testable]
    out["claim_level_attainable_mean"] = float(np.mean(att)) if att else None
    return out


def _git(*args) -> str:
    try:
        return subprocess.check_output(["git", *args], cwd=ROOT, text=True).strip()
    except Exception:  # noqa: BLE001
        return ""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=1000, help="null datasets (paths a-c)")
    ap.add_argument(
        "--comm-reps", type=int, default=None, help="null datasets with communication (default --reps)"
    )
    ap.add_argument("--power-reps", type=int, default=100)
    ap.add_argument(
        "--atlas-cells", type=int, default=100_000, help="cells of the large null atlas (0: skip)"
    )
    ap.add_argument("--atlas-perms", type=int, default=200)
    ap.add_argument("--cells", type=int, default=200, help="cells per patient (null and power datasets)")
    ap.add_argument("--genes", type=int, default=1500, help="genes kept in the small datasets")
    ap.add_argument("--n-perms", type=int, default=200, help="CellPhoneDB permutations in the null datasets")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument(
        "--deadline-min",
        type=float,
        default=None,
        help="stop submitting work after this many minutes (jobs not started are dropped, and reported)",
    )
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "calibration.json"))
    args = ap.parse_args()
    comm_reps = args.reps if args.comm_reps is None else args.comm_reps
    _quiet()
    import neurosig

    t_start = time.time()
    jobs = {}
    atlas_res, null_rows, power_rows, errors = {}, [], [], []
    with ProcessPoolExecutor(args.workers) as pool:
        # the atlases first: the large one is the longest single job
        for cells in [2400] + ([args.atlas_cells] if args.atlas_cells else []):
            jobs[pool.submit(_atlas, (cells, 24, 11, args.atlas_perms, "cellphonedb_v5"))] = ("atlas", cells)
        small = []
        for rep in range(args.reps):
            seed = args.seed + rep
            small.append(
                (_null_one, (rep, seed, args.cells, args.genes, args.n_perms, rep < comm_reps), ("null", rep))
            )
        power_jobs = []
        for kind, effects, ns in (
            ("A1", (-0.1, -0.25, -0.5), (4, 8, 16)),
            ("B1", (-0.25, -0.5, -1.0), (8, 16, 24)),
        ):
            for ei, e in enumerate(effects):
                for n in ns:
                    for rep in range(args.power_reps):
                        seed = (
                            10_000_000
                            + (0 if kind == "A1" else 5_000_000)
                            + ei * 1_000_000
                            + n * 10_000
                            + rep
                        )
                        power_jobs.append(
                            (
                                rep,
                                (
                                    _power_one,
                                    (kind, e, n, rep, seed, args.cells, args.genes),
                                    ("power", seed),
                                ),
                            )
                        )
        # interleave (null rep i, then power rep i of every cell), so that a deadline leaves balanced samples
        power_jobs.sort(key=lambda t: t[0])
        ratio = max(1, len(small) // max(1, len(power_jobs)))
        order, pj = [], [j for _, j in power_jobs]
        while small or pj:
            order += [small.pop(0) for _ in range(min(ratio, len(small)))]
            if pj:
                order.append(pj.pop(0))
        for fn, a, tag in order:
            jobs[pool.submit(fn, a)] = tag
        done = 0
        cancelled = 0
        for fut in as_completed(jobs):
            if args.deadline_min and time.time() - t_start > 60 * args.deadline_min and not cancelled:
                cancelled = sum(f.cancel() for f in jobs)
                print(f"deadline: {cancelled} jobs not started were dropped", flush=True)
            if fut.cancelled():
                continue
            kind, key = jobs[fut]
            try:
                res = fut.result()
            except Exception as err:  # noqa: BLE001 - record and go on
                errors.append({"job": kind, "key": key, "error": repr(err)[:300]})
                continue
            if kind == "atlas":
                res["wall_seconds"] = round(time.time() - t_start, 1)
                atlas_res[str(key)] = res
                print(f"[{time.time() - t_start:.0f}s] atlas {key} done: {res['seconds']}", flush=True)
            elif kind == "null":
                null_rows.append(res)
            else:
                power_rows.append(res)
            done += 1
            if done % 100 == 0:
                print(f"[{time.time() - t_start:.0f}s] {done}/{len(jobs)} jobs", flush=True)

    null_rows.sort(key=lambda r: r["rep"])
    paths = {
        "A1_cell_meta_8_patients": _summarise_path([r["A1"] for r in null_rows]),
        "B1_composition_glm_8_patients": _summarise_path([r["B1"] for r in null_rows]),
    }
    for n in SPEARMAN_NS:
        s = _summarise_path([r[f"B5_n{n}"] for r in null_rows])
        s["attainable_level"] = _spearman_attainable(n)
        paths[f"B5_patient_spearman_{n}_patients"] = s
    for c in COMM_CLAIMS:
        paths[f"{c}_communication_per_patient_8_patients"] = _summarise_comm(
            [r[c] for r in null_rows if c in r]
        )

    power = []
    for kind, e, n in sorted({(r["kind"], r["planted"], r["n_planted_patients"]) for r in power_rows}):
        rs = [r for r in power_rows if (r["kind"], r["planted"], r["n_planted_patients"]) == (kind, e, n)]
        testable = [r for r in rs if r["verdict"] != "not testable"]
        power.append(
            {
                "claim": kind,
                "planted_effect": e,
                "n_patients": n,
                "reps": len(rs),
                "fraction_testable": len(testable) / len(rs),
                "supported": sum(r["verdict"] == "supported" for r in rs) / len(rs),
                "p_below_alpha_expected_direction": sum(
                    r["pvalue"] is not None
                    and r["pvalue"] < ALPHA
                    and r["effect"] is not None
                    and r["effect"] < 0
                    for r in rs
                )
                / len(rs),
                "contradicted": sum(r["verdict"] == "contradicted" for r in rs) / len(rs),
                "mean_effect": float(
                    np.nanmean([r["effect"] if r["effect"] is not None else np.nan for r in rs])
                ),
            }
        )

    for res in atlas_res.values():
        rows = res["rows"]
        testable = [r for r in rows if r["verdict"] != "not testable"]
        res["summary"] = {
            "testable": len(testable),
            "false_verdicts_all": sum(r["verdict"] in ("supported", "contradicted") for r in testable),
            "testable_cell_patient": sum(r["level"] != "communication" for r in testable),
            "false_verdicts_cell_patient": sum(
                r["verdict"] in ("supported", "contradicted")
                for r in testable
                if r["level"] != "communication"
            ),
            "supported_communication_true_labels": sum(
                r["verdict"] == "supported" for r in testable if r["level"] == "communication"
            ),
            "testable_communication_shuffled": sum(
                r["verdict"] != "not testable" for r in res["shuffled_communication_rows"]
            ),
            "false_verdicts_communication_shuffled": sum(
                r["verdict"] in ("supported", "contradicted") for r in res["shuffled_communication_rows"]
            ),
        }

    doc = {
        "benchmark": "calibration",
        "neurosig_version": neurosig.__version__,
        "git_commit": _git("rev-parse", "HEAD"),
        "engine_sha256_16": {
            str(p.relative_to(ROOT)): _sha(p)
            for p in sorted((ROOT / "neurosig" / "claims").rglob("*.py"))
            if p.name != "__init__.py"
        },
        "alpha": ALPHA,
        "target_band": [0.03, 0.07],
        "parameters": {
            "reps": args.reps,
            "comm_reps": comm_reps,
            "power_reps": args.power_reps,
            "cells_per_patient": args.cells,
            "cells_per_patient_spearman_12": max(args.cells // 2, 60),
            "genes": args.genes,
            "technology": "tenx",
            "state_composition": MES,
            "n_perms": args.n_perms,
            "resource": "cellphonedb_v5",
            "atlas_cells": args.atlas_cells,
            "atlas_perms": args.atlas_perms,
            "base_seed": args.seed,
            "null_seeds": f"{args.seed} + rep (12-patient dataset: + 500000)",
            "power_seeds": "10000000 + 5000000*(B1) + 1000000*effect_index + 10000*n_patients + rep",
            "atlas_seed": 11,
            "workers": args.workers,
            "spearman_claim": "B5",
            "composition_claim": "B1",
            "cell_claim": "A1",
            "communication_claims": list(COMM_CLAIMS),
            "communication_null": "cell-type labels shuffled within each patient before tl.communicate",
        },
        "null": paths,
        "power": power,
        "atlas": atlas_res,
        "errors": errors,
        "jobs_dropped_at_deadline": cancelled,
        "wall_seconds": round(time.time() - t_start, 1),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    Path(args.out).write_text(json.dumps(doc, indent=1, default=float) + "\n")
    raw = {
        "null": [
            {
                "rep": r["rep"],
                "seed": r["seed"],
                **{
                    k: {f: v[f] for f in ("verdict", "effect", "pvalue", "pvalue_unadjusted", "n_patients")}
                    for k, v in r.items()
                    if isinstance(v, dict)
                },
            }
            for r in null_rows
        ],
        "power": [
            {
                k: r[k]
                for k in (
                    "kind",
                    "planted",
                    "n_planted_patients",
                    "rep",
                    "seed",
                    "verdict",
                    "effect",
                    "pvalue",
                )
            }
            for r in power_rows
        ],
    }
    Path(args.out).with_name(Path(args.out).stem + "_raw.json").write_text(
        json.dumps(raw, default=float) + "\n"
    )
    print(
        json.dumps(
            {
                "null": {k: (v["rejection"]["rate"], v["false_verdict"]["rate"]) for k, v in paths.items()},
                "wall_seconds": doc["wall_seconds"],
                "errors": len(errors),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
