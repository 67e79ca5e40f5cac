"""The bulk and multi-region claims on the mirrored cohorts: per cohort, pooled, and the verdict matrix.

Reads the 18 GlioVis cohorts and the GliomaAtlas3D samples from the offline mirror
(``NEUROSIG_MIRRORS`` or ``../shared/data``) into the harmonised bulk schema
(``tests/claims/bulk_inputs.py``, until the manifest loaders land), scores the claims'
signatures per sample with ``score_genes`` into ``.obsm["neurosig_score_genes"]``, runs
``test_claims`` and ``pool_evidence`` and writes ``benchmarks/results/bulk_evidence.csv``
and ``bulk_verdicts.md``. Gleize 2015 is left out of the pool: it may share tumours with
POLA (same network; POLA is kept, it has survival).

Run: ``python benchmarks/bulk_claims_real.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neurosig.claims import LEVELS, load_claims, pool_evidence  # noqa: E402
from neurosig.tl import test_claims  # noqa: E402
from tests.claims.bulk_inputs import atlas, gliovis_cohort, scored  # noqa: E402

COHORTS = [
    "Freije", "Phillips", "Nutt", "Joo", "Ducray", "Vital", "Donson", "Grzmil", "Li", "Kwom",
    "Walsh", "POLA", "Paugh", "Schwartzentruber", "Sturm_2012", "Bjerke", "Bender",
]  # fmt: skip
KEY = "neurosig_score_genes"


def _signatures(doc: dict) -> list[str]:
    sigs = {doc["settings"]["neuron_signature"]}
    for c in doc["claims"].values():
        if c["level"] in ("tumour", "region", "survival"):
            sigs |= {c[s]["signature"] for s in ("x", "y") if s in c and "signature" in c[s]}
    return sorted(sigs)


def _cell(r: pd.Series) -> str:
    if r["verdict"] == "not testable":
        return "not testable"
    interval = f"[{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]"
    return f"{r['verdict']}, {r['effect']:+.2f} {interval}, n={int(r['n_patients'])}"


def figures(ev: pd.DataFrame, mirror: Path, out: Path, seed: int = 0) -> None:
    """The verdict matrix, forest plots of B1_bulk and S1 across cohorts, and KM curves (Freije)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurosig.pl import forest, kaplan_meier, verdict_matrix

    ax = verdict_matrix(ev)
    ax.figure.savefig(out / "bulk_verdict_matrix.png", dpi=150, bbox_inches="tight")
    plt.close(ax.figure)
    for claim in ("B1_bulk", "S1"):
        ax = forest(ev, claim)
        ax.figure.savefig(out / f"bulk_forest_{claim}.png", dpi=150)
        plt.close(ax.figure)
    a = scored(gliovis_cohort(mirror, "Freije"), ["neural_interaction_composite"], KEY, seed=seed)
    ax = kaplan_meier(a, a.obsm[KEY]["neural_interaction_composite"])
    ax.figure.savefig(out / "bulk_km_freije.png", dpi=150)
    plt.close(ax.figure)


def main() -> None:
    """Run every claim on every cohort and the atlas; write the evidence and the matrix."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--figures-only", action="store_true", help="draw from the written bulk_evidence.csv")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    mirror = Path(
        os.environ.get("NEUROSIG_MIRRORS", "").split(os.pathsep)[0] or ROOT.parent / "shared" / "data"
    )
    if args.figures_only:
        figures(pd.read_csv(Path(args.out) / "bulk_evidence.csv"), mirror, Path(args.out), args.seed)
        return
    doc = load_claims()
    sigs = _signatures(doc)
    tables, t0 = [], time.time()
    for name in [*COHORTS, "atlas"]:
        a = atlas(mirror) if name == "atlas" else gliovis_cohort(mirror, name)
        scored(a, sigs, KEY, seed=args.seed)
        ev = test_claims(a, doc, score_key=KEY, inplace=False, seed=args.seed)
        tables.append(ev)
        print(f"{name}: {a.n_obs} samples, {len(ev)} claims, {time.time() - t0:.0f} s", flush=True)
    ev = pool_evidence(tables)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ev.to_csv(out / "bulk_evidence.csv", index=False)
    pooled = ev[ev["dataset"].str.startswith("pooled")]
    lines = [
        "# Bulk and multi-region claims on the mirrored cohorts",
        "",
        f"{len(COHORTS)} GlioVis cohorts (Gleize left out: may share tumours with POLA) and the "
        "GliomaAtlas3D samples; score_genes per sample; verdict on the adjusted estimate "
        "(`adjusted_for`). Cell: verdict, effect [95% interval], n tumours (patients).",
        "",
        "| claim | level | expected | pooled (all) | pooled adult | pooled paediatric | adjusted for |",
        "|---|---|---|---|---|---|---|",
    ]
    for claim, grp in pooled.groupby("claim", sort=False):
        g = grp.set_index("dataset")
        cells = [
            _cell(g.loc[d]) if d in g.index else "" for d in ("pooled", "pooled:adult", "pooled:paediatric")
        ]
        per = ev[(ev["claim"] == claim) & ~ev["dataset"].str.startswith("pooled")]
        adj = "; ".join(sorted({str(v) for v in per["adjusted_for"].dropna()}))[:120]
        lines.append(
            f"| {claim} | {g.iloc[0]['level']} | {g.iloc[0]['expected']} | "
            + " | ".join(cells)
            + f" | {adj} |"
        )
    lines += ["", "Per cohort (effect, verdict):", ""]
    wide = ev[~ev["dataset"].str.startswith("pooled")].pivot_table(
        index="claim", columns="dataset", values="effect", aggfunc="first"
    )
    lines.append(wide.round(2).to_markdown() if hasattr(wide, "to_markdown") else wide.round(2).to_string())
    (out / "bulk_verdicts.md").write_text("\n".join(lines) + "\n")
    figures(ev, mirror, out, args.seed)
    print("\n".join(lines[:40]))
    missing = int(np.isnan(ev["effect"].astype(float)).sum())
    print(f"levels: {sorted(LEVELS)}; total {time.time() - t0:.0f} s; rows {len(ev)}; no estimate {missing}")


if __name__ == "__main__":
    main()
