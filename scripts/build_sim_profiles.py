"""Fit the simulator's cell-type profiles from real data and collect its marker lists.

Estimated from the Darmanis 2015 adult brain cells (raw read counts, Smart-seq; the
offline mirror ``../shared/data/darmanis2015_brain``), loaded with neurosig's own loader:

- for each of neuron, astrocyte, oligodendrocyte, OPC, microglia, endothelial: the
  pooled expression proportion of every gene, ``q_tg = sum_i x_ig / sum_i L_i``;
- a negative-binomial dispersion per gene and type, chosen so that the expected fraction
  of zeros, ``mean_i (1 + phi * L_i q_tg)^(-1/phi)``, equals the observed one (bisection
  on log phi in [0.01, 1000]); matching zeros is what makes genes per cell and sparsity
  realistic (a method-of-moments fit pooled over types gave too few zeros);
- per type, the mean and sd of log library size.

Marker lists for the cell types the mirror lacks are read from the published sets in
``../shared/reference/genesets/sets`` and the Neftel 2019 meta-modules, and written
with their sources. Outputs (``signatures/sim/``): ``darmanis2015_fit.tsv.gz``,
``library_sizes.yaml``, ``markers.yaml``.

Usage::

    python scripts/build_sim_profiles.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "signatures" / "sim"
REAL_TYPES = ["neuron", "astrocyte", "oligodendrocyte", "OPC", "microglia", "endothelial"]

# synthetic type -> published gene-set files (in shared/reference/genesets/sets) that give its markers
MARKER_SETS = {
    "T_CD8": ["JerbyArnon2018_CD8_T", "PanglaoDB_canonical_T_cells"],
    "T_CD4": ["JerbyArnon2018_CD4_T", "PanglaoDB_canonical_T_cells"],
    "Treg": ["JerbyArnon2018_Treg_CD4", "PanglaoDB_canonical_Treg"],
    "NK": ["JerbyArnon2018_celltype_NK", "PanglaoDB_canonical_NK_cells"],
    "macrophage": ["MoTAM_Muller2017_Nejo", "PanglaoDB_canonical_Macrophages"],
    "MDSC": ["MDSC_Wang2016", "PanglaoDB_canonical_Monocytes"],
    "microglia_down": ["PanglaoDB_canonical_Microglia", "MgTAM_Muller2017_Nejo"],
}
NEFTEL_STATES = {
    "MES": ["MESlike1", "MESlike2"],
    "AC": ["AClike"],
    "OPC": ["OPClike"],
    "NPC": ["NPClike1", "NPClike2"],
}


def read_set(path: Path) -> tuple[list[str], str]:
    genes, source = [], ""
    for line in path.read_text().splitlines():
        if line.startswith("# source:"):
            source = line[len("# source:") :].strip()
        elif line and not line.startswith("#"):
            genes.append(line.strip())
    return genes, source


def fit_dispersion_to_zeros(x: np.ndarray, lib: np.ndarray, q: np.ndarray, iters: int = 40) -> np.ndarray:
    """Per-gene NB dispersion whose expected zero fraction matches the observed one."""
    observed = (x == 0).mean(0)
    mu = lib[:, None] * q[None, :]
    lo, hi = np.full(q.size, np.log(0.01)), np.full(q.size, np.log(1000.0))
    for _ in range(iters):
        mid = (lo + hi) / 2
        phi = np.exp(mid)
        p0 = np.exp(-np.log1p(phi * mu) / phi).mean(0)  # increases with phi
        too_few_zeros = p0 < observed
        lo = np.where(too_few_zeros, mid, lo)
        hi = np.where(too_few_zeros, hi, mid)
    return np.exp((lo + hi) / 2)


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = parser.parse_args()
    os.environ["NEUROSIG_MIRRORS"] = str(args.shared / "data")
    os.environ["NEUROSIG_OFFLINE"] = "1"
    import neurosig as ns
    from neurosig.datasets.genes import current_symbol

    adata = ns.datasets.load("darmanis2015_brain")
    counts = adata.layers["counts"].tocsr()
    types = adata.obs["cell_type"].astype(str).to_numpy()
    lib = np.asarray(counts.sum(1)).ravel()

    q, phis, libs = {}, {}, {}
    for t in REAL_TYPES:
        idx = np.flatnonzero(types == t)
        x = counts[idx].toarray().astype(np.float64)
        q[t] = x.sum(0) / lib[idx].sum()
        phis[t] = fit_dispersion_to_zeros(x, lib[idx], q[t])
        libs[t] = {
            "log_mean": float(np.log(lib[idx]).mean()),
            "log_sd": float(np.log(lib[idx]).std(ddof=1)),
            "n_cells": int(len(idx)),
        }
    table = pd.DataFrame({t: q[t] for t in REAL_TYPES}, index=adata.var_names)
    for t in REAL_TYPES:
        table[f"phi_{t}"] = phis[t]
    table = table[(table[REAL_TYPES].sum(1) > 0)]
    phi = table[[f"phi_{t}" for t in REAL_TYPES]].to_numpy()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as fh:
        fh.write(table.to_csv(sep="\t", float_format="%.6g", index_label="gene").encode())
    OUT.mkdir(parents=True, exist_ok=True)
    write_atomic(OUT / "darmanis2015_fit.tsv.gz", buf.getvalue())

    lib_doc = {
        "source": "Darmanis 2015 (GSE67835) adult cells, raw read counts, "
        "fitted by scripts/build_sim_profiles.py",
        "smartseq2": libs,
        "tenx": {
            "note": "assumed (no 10x brain data in the mirror): log-normal UMI library, median 4,000, "
            "sd of log 0.5; dispersions scaled by dispersion_scale",
            "log_mean": float(np.log(4000.0)),
            "log_sd": 0.5,
            "dispersion_scale": 0.1,
        },
    }
    write_atomic(OUT / "library_sizes.yaml", yaml.safe_dump(lib_doc, sort_keys=False).encode())

    sets_dir = args.shared / "reference" / "genesets" / "sets"
    markers = {
        "note": "Marker genes of the simulator's synthetic cell types, read from published sets "
        "(symbols brought to current ones with neurosig's alias table). Generated by "
        "scripts/build_sim_profiles.py; do not edit by hand.",
        "types": {},
        "malignant_states": {},
    }
    for name, files in MARKER_SETS.items():
        genes, sources = [], []
        for f in files:
            g, s = read_set(sets_dir / f"{f}.txt")
            genes += [current_symbol(x) for x in g]
            sources.append(f"{f}: {s}")
        keep = [g for g in dict.fromkeys(genes) if g in table.index]
        markers["types"][name] = {"genes": keep, "sources": sources}
    modules = pd.read_csv(args.shared / "data" / "neftel2019_gbm" / "IDHwt.GBM.MetaModules.tsv", sep="\t")
    for state, cols in NEFTEL_STATES.items():
        genes = [current_symbol(g) for c in cols for g in modules[c].dropna()]
        markers["malignant_states"][state] = {
            "genes": [g for g in dict.fromkeys(genes) if g in table.index],
            "sources": [
                f"Neftel C et al. 2019 Cell 178:835 (DOI 10.1016/j.cell.2019.06.024), meta-modules "
                f"{', '.join(cols)} of IDHwt.GBM.MetaModules.tsv (sha256 42a48db1...)"
            ],
        }
    write_atomic(OUT / "markers.yaml", yaml.safe_dump(markers, sort_keys=False, width=120).encode())
    print(
        table.shape,
        {k: len(v["genes"]) for k, v in markers["types"].items()},
        {k: len(v["genes"]) for k, v in markers["malignant_states"].items()},
    )
    print("median dispersion", float(np.median(phi)))


if __name__ == "__main__":
    main()
