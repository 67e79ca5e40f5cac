"""Expression profiles of the simulated cell types.

Fitted where real data exists, built around published markers where it does not.

Estimated (``signatures/sim/darmanis2015_fit.tsv.gz``, from Darmanis 2015 adult brain
cells by ``scripts/build_sim_profiles.py``): the expression proportions of neuron,
astrocyte, oligodendrocyte, OPC, microglia and endothelial cells, a negative-binomial
dispersion per gene and type (fitted to the observed fraction of zeros), and Smart-seq
library sizes per type. Immune types take the microglia dispersions, malignant states
the geometric mean of astrocyte and OPC dispersions.

Assumed (documented constructions, ``signatures/sim/markers.yaml`` for the genes):

- malignant states MES/AC/OPC/NPC: the mean of the astrocyte and OPC profiles, with the
  Neftel 2019 meta-module genes of the state raised to the 99th percentile of that base;
- T_CD8, T_CD4, Treg, NK, macrophage, MDSC: the microglia profile with microglia markers
  lowered 20-fold and the type's published markers raised to the 99th percentile;
- 10x libraries (median 4,000 UMIs) and a 10-fold lower dispersion for ``tenx``;
- TAP1, HLA-B and HLA-C, absent from the Darmanis table, copy TAP2's and HLA-A's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import yaml

from .._resources import signatures_dir
from ._params import MALIGNANT_STATES

REAL_TYPES = ("neuron", "astrocyte", "oligodendrocyte", "OPC", "microglia", "endothelial")
IMMUNE_SYNTHETIC = ("T_CD8", "T_CD4", "Treg", "NK", "macrophage", "MDSC")
MICROGLIA_DOWN = 0.05
MARKER_QUANTILE = 0.99


@dataclass(frozen=True)
class Profiles:
    """Expression proportions (genes x profile columns, columns sum to 1) and dispersions."""

    q: pd.DataFrame  # columns: real types, synthetic immune types, malignant_<state>
    dispersion: pd.DataFrame  # genes x profile columns
    library: dict  # technology -> type -> (log_mean, log_sd)
    provenance: dict


def _raise_markers(base: pd.Series, genes: list[str]) -> pd.Series:
    level = float(np.quantile(base[base > 0], MARKER_QUANTILE))
    out = base.copy()
    genes = [g for g in genes if g in out.index]
    out.loc[genes] = np.maximum(out.loc[genes], level)
    return out


@cache
def _fit() -> tuple[pd.DataFrame, dict, dict]:
    folder = signatures_dir() / "sim"
    fit = pd.read_csv(folder / "darmanis2015_fit.tsv.gz", sep="\t", index_col=0)
    markers = yaml.safe_load((folder / "markers.yaml").read_text())
    libs = yaml.safe_load((folder / "library_sizes.yaml").read_text())
    return fit, markers, libs


@cache
def load_profiles() -> Profiles:
    """All simulator profiles over the fitted gene universe (21,341 genes)."""
    fit, markers, libs = _fit()
    planted = yaml.safe_load((signatures_dir() / "sim" / "planted.yaml").read_text())
    copied = {g: src for g, src in planted.get("absent_from_fit", {}).items() if g not in fit.index}
    if copied:
        fit = pd.concat([fit, fit.loc[list(copied.values())].set_axis(list(copied), axis=0)])
    q = fit[list(REAL_TYPES)].copy()
    immune_base = q["microglia"].copy()
    down = [g for g in markers["types"]["microglia_down"]["genes"] if g in q.index]
    immune_base.loc[down] *= MICROGLIA_DOWN
    for t in IMMUNE_SYNTHETIC:
        q[t] = _raise_markers(immune_base, markers["types"][t]["genes"])
    glial_base = (q["astrocyte"] + q["OPC"]) / 2
    for s in MALIGNANT_STATES:
        q[f"malignant_{s}"] = _raise_markers(glial_base, markers["malignant_states"][s]["genes"])
    q = q / q.sum(0)
    phi = pd.DataFrame({t: fit[f"phi_{t}"] for t in REAL_TYPES})
    for t in IMMUNE_SYNTHETIC:
        phi[t] = phi["microglia"]
    for s in MALIGNANT_STATES:
        phi[f"malignant_{s}"] = np.sqrt(phi["astrocyte"] * phi["OPC"])
    phi = phi[q.columns]
    library = {
        "smartseq2": {t: (v["log_mean"], v["log_sd"]) for t, v in libs["smartseq2"].items()},
        "tenx": {"*": (libs["tenx"]["log_mean"], libs["tenx"]["log_sd"])},
        "tenx_dispersion_scale": libs["tenx"]["dispersion_scale"],
    }
    provenance = {
        "fit": "signatures/sim/darmanis2015_fit.tsv.gz (Darmanis 2015, GSE67835)",
        "markers": "signatures/sim/markers.yaml",
        "estimated": list(REAL_TYPES),
        "assumed": [*IMMUNE_SYNTHETIC, *(f"malignant_{s}" for s in MALIGNANT_STATES)],
        "genes_copied_from_family": copied,
    }
    return Profiles(q.astype(np.float64), phi.astype(np.float64), library, provenance)


def library_params(profiles: Profiles, technology: str, column: str) -> tuple[float, float]:
    """(log mean, log sd) of the library size of one profile column."""
    if technology == "tenx":
        return profiles.library["tenx"]["*"]
    libs = profiles.library["smartseq2"]
    if column in libs:
        return libs[column]
    if column.startswith("malignant_"):
        return libs["astrocyte"]
    return libs["microglia"]  # immune types
