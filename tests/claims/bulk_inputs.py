"""Real bulk and multi-region inputs for the claims tests, in the harmonised bulk schema.

Until the loaders of issue 17 (branch issue17-bulk-data) land, the tests and benchmarks
build the schema they will deliver from the mirrored files themselves: one AnnData per
cohort, one row per sample, gene symbols, X = log2 expression; ``.obs`` patient, sample,
region ("none" for cohorts, the sample's position id in the atlas), cohort, histology,
grade, idh, subtype, os_months, os_event, age, purity (NaN when unknown), plus
dist_periphery/dist_centroid in the atlas; ``.uns["neurosig"]["modality"]``.

Quirks, from the files themselves (``shared/data/README.md``): GlioVis ``expr`` is
samples x genes with HLA genes spelled ``HLA.A`` (renamed HLA-A here) and log2
intensities; ``pData`` names survival ``survival`` (months) and ``status`` (1 = dead);
the subtype column is ``Subtype.ssgsea`` (adult GEO cohorts) or ``Subtype``; IDH is
``IDH_status`` or ``IDH1_status``; Grzmil holds 2 non-tumour samples (dropped). The atlas
``rna.rds`` is genes x samples, TPM-scale (log2(TPM+1) here); per-sample purity is the
FACETS column of ``sampledata_v12.rds`` (samples named Patient + SampleName, e.g. P260v1).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

#: Paediatric high-grade glioma cohorts of GlioVis (shared/data/README.md).
PAEDIATRIC = ("Paugh", "Schwartzentruber", "Sturm_2012", "Bjerke", "Bender")


def _read_rds(path: Path):
    import rdata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rdata.conversion.convert(rdata.parser.parse_file(path))


def _col(p: pd.DataFrame, *names: str) -> pd.Series:
    for n in names:
        if n in p:
            return p[n]
    return pd.Series(pd.NA, index=p.index)


def gliovis_cohort(mirror: Path, name: str) -> ad.AnnData:
    """One GlioVis cohort (``gliovis_bulk/<name>.Rds``) in the bulk schema."""
    r = _read_rds(Path(mirror) / "gliovis_bulk" / f"{name}.Rds")
    p = r["pData"]
    expr = r["expr"]
    genes = [c for c in expr.columns if c not in p.columns]
    x = expr[genes].apply(pd.to_numeric, errors="coerce").astype(np.float32)
    keep = ~p["Histology"].astype(str).str.lower().str.contains("non-tumor").to_numpy()
    p, x = p[keep], x[keep]
    x = x.loc[:, x.notna().all(axis=0)]  # genes a platform did not measure in every sample
    var_names = [g.replace("HLA.", "HLA-") if g.startswith("HLA.") else g for g in x.columns]
    patient = _col(p, "Patient_ID").astype("string").fillna(p["Sample"].astype("string"))
    obs = pd.DataFrame(
        {
            "patient": patient.astype(str).to_numpy(),
            "sample": p["Sample"].astype(str).to_numpy(),
            "region": "none",
            "cohort": name,
            "histology": p["Histology"].astype(str).to_numpy(),
            "grade": _col(p, "Grade").astype("string").to_numpy(),
            "idh": _col(p, "IDH_status", "IDH1_status").astype("string").to_numpy(),
            "subtype": _col(p, "Subtype.ssgsea", "Subtype").astype("string").to_numpy(),
            "os_months": pd.to_numeric(_col(p, "survival"), errors="coerce").astype(float).to_numpy(),
            "os_event": pd.to_numeric(_col(p, "status"), errors="coerce").astype(float).to_numpy(),
            "age": pd.to_numeric(_col(p, "Age"), errors="coerce").astype(float).to_numpy(),
            "purity": np.nan,
        },
        index=p["Sample"].astype(str).to_numpy(),
    )
    a = ad.AnnData(X=x.to_numpy(), obs=obs, var=pd.DataFrame(index=var_names))
    a.var_names_make_unique()
    a.uns["neurosig"] = {
        "dataset_id": f"gliovis_{name.lower()}",
        "modality": "bulk",
        "cohort_group": "paediatric" if name in PAEDIATRIC else "adult",
    }
    return a


def atlas(mirror: Path) -> ad.AnnData:
    """The GliomaAtlas3D samples with RNA (``gliomaatlas3d/``) in the multi-region schema."""
    root = Path(mirror) / "gliomaatlas3d"
    meta = _read_rds(root / "metadata" / "sampledata_v12.rds")
    tumours = _read_rds(root / "metadata" / "tumordata_v12.rds").set_index("Patient")
    meta.index = (meta["Patient"].astype(str) + meta["SampleName"].astype(str)).to_numpy()
    frames = [_read_rds(f) for f in sorted(root.glob("datasets/Patient*/sf*/rna.rds"))]
    common = sorted(set.intersection(*[set(f.index) for f in frames]))
    tpm = pd.concat([f.loc[common] for f in frames], axis=1).T
    tpm = tpm[~tpm.index.duplicated()]
    m = meta.reindex(tpm.index)
    pat = pd.Series(tpm.index.str.extract(r"^(P\d+)")[0].to_numpy(), index=tpm.index)
    t = tumours.reindex(pat.to_numpy())
    obs = pd.DataFrame(
        {
            "patient": pat.to_numpy(),
            "sample": tpm.index.to_numpy(),
            "region": tpm.index.str.replace(r"^P\d+", "", regex=True).to_numpy(),
            "cohort": "gliomaatlas3d",
            "histology": t["Histology"].astype(str).to_numpy(),
            "grade": t["Grade"].astype("string").to_numpy(),
            "idh": t["IDH_Mut"].astype("string").to_numpy(),
            "subtype": pd.NA,
            "os_months": np.nan,
            "os_event": np.nan,
            "age": np.nan,
            "purity": pd.to_numeric(m["FACETS"], errors="coerce").astype(float).to_numpy(),
            "dist_periphery": pd.to_numeric(m["DistPeriph"], errors="coerce").astype(float).to_numpy(),
            "dist_centroid": pd.to_numeric(m["DistCentroid"], errors="coerce").astype(float).to_numpy(),
        },
        index=tpm.index,
    )
    a = ad.AnnData(
        X=np.log2(tpm.to_numpy(float) + 1).astype(np.float32), obs=obs, var=pd.DataFrame(index=common)
    )
    a.uns["neurosig"] = {"dataset_id": "gliomaatlas3d", "modality": "multi_region"}
    return a


def scored(a: ad.AnnData, signatures: list[str], key: str, method: str = "score_genes", seed: int = 0):
    """Score the library signatures per sample into ``.obsm[key]`` (the claims' ``score_key``)."""
    from neurosig.score.engine import score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score(a, signatures, method=method, key_added=key, seed=seed, strict=False)
    return a


#: Signatures a simulated cohort carries in ``.obsm`` (x, the outcomes, the neuron covariate).
SIMULATED = (
    "neural_interaction_composite",
    "CD8_Teff_Mariathasan2018",
    "MHC_I_machinery",
    "marker_Mature_neurons",
)


def _frame_genes() -> list[str]:
    from neurosig.knowledge import library

    lib = library()
    return sorted({g for s in SIMULATED for g in lib[s].weights})


def simulated_cohort(
    n: int, seed: int = 0, *, effect: float = 0.0, hazard: float = 0.0, key: str = "sim_scores"
) -> ad.AnnData:
    """A bulk cohort with confounding and, by default, no association of x with y or survival.

    Per tumour: histology (GBM 70%), a subtype among GBMs (mesenchymal/proneural/classical),
    grade, IDH, purity U(0.3, 0.95), a neuron content, age. The neural score x rises with
    proneural subtype, neuron content and purity; the CD8 score y rises with mesenchymal
    subtype and falls with purity (so x and y correlate through the confounders alone);
    ``effect`` adds a direct x -> y slope (per SD). Survival: exponential, hazard rising with
    age, grade and GBM, times exp(``hazard`` * x per SD); uniform censoring (~25%).
    """
    rng = np.random.default_rng(seed)
    gbm = rng.random(n) < 0.7
    subtype = np.where(gbm, rng.choice(["Mesenchymal", "Proneural", "Classical"], n), "none")
    grade = np.where(gbm, "IV", rng.choice(["II", "III"], n))
    idh = np.where(gbm, rng.choice(["Wild-type", "Mutant"], n, p=[0.9, 0.1]), "Mutant")
    purity = rng.uniform(0.3, 0.95, n)
    neuron = rng.normal(size=n)
    age = rng.normal(55, 12, n)
    x = 0.8 * (subtype == "Proneural") + 0.5 * neuron + 4 * purity + rng.normal(size=n)
    xz = (x - x.mean()) / x.std()
    y = 0.9 * (subtype == "Mesenchymal") - 4 * purity + effect * xz + rng.normal(size=n)
    mhc = 0.6 * (subtype == "Mesenchymal") + rng.normal(size=n)
    lin = 0.03 * (age - 55) + 0.8 * gbm + hazard * xz
    time = rng.exponential(24 * np.exp(-lin))
    cens = rng.uniform(0, 4 * np.median(time), n)
    obs = pd.DataFrame(
        {
            "patient": [f"T{i:04d}" for i in range(n)],
            "sample": [f"T{i:04d}" for i in range(n)],
            "region": "none",
            "cohort": f"sim{seed}",
            "histology": np.where(gbm, "GBM", rng.choice(["Astrocytoma", "Oligodendroglioma"], n)),
            "grade": grade,
            "idh": idh,
            "subtype": subtype,
            "os_months": np.minimum(time, cens),
            "os_event": (time <= cens).astype(float),
            "age": age,
            "purity": purity,
        },
        index=[f"T{i:04d}" for i in range(n)],
    )
    genes = _frame_genes()
    a = ad.AnnData(
        X=rng.normal(8, 1, (n, len(genes))).astype(np.float32), obs=obs, var=pd.DataFrame(index=genes)
    )
    a.obsm[key] = pd.DataFrame(dict(zip(SIMULATED, (x, y, mhc, neuron), strict=True)), index=obs.index)
    a.uns["neurosig"] = {
        "dataset_id": f"sim{seed}",
        "modality": "bulk",
        "cohort_group": "adult",
        "value_type": "log2_intensity",  # as the bulk loader records a microarray cohort
    }
    return a


def simulated_atlas(
    n_patients: int, n_samples: int, seed: int = 0, *, effect: float = 0.0, key: str = "sim_scores"
) -> ad.AnnData:
    """Multi-region tumours: per sample, x and y both follow the sample's purity (confounding) only.

    ``effect`` adds a direct within-tumour x -> y slope; each patient has its own level.
    """
    rng = np.random.default_rng(seed)
    rows, scores = [], []
    for p in range(n_patients):
        purity = rng.uniform(0.3, 0.95, n_samples)
        dist = rng.uniform(0, 30, n_samples)
        x = rng.normal() + 4 * purity - 0.02 * dist + rng.normal(size=n_samples)
        xz = (x - x.mean()) / x.std()
        y = rng.normal() - 4 * purity + effect * xz + rng.normal(size=n_samples)
        for i in range(n_samples):
            rows.append(
                {
                    "patient": f"P{p:03d}",
                    "sample": f"P{p:03d}v{i + 1}",
                    "region": f"v{i + 1}",
                    "cohort": "sim_atlas",
                    "purity": purity[i],
                    "dist_periphery": dist[i],
                }
            )
            scores.append((x[i], y[i], rng.normal(), rng.normal()))
    obs = pd.DataFrame(rows)
    obs.index = obs["sample"].to_numpy()
    genes = _frame_genes()
    a = ad.AnnData(
        X=rng.normal(8, 1, (len(obs), len(genes))).astype(np.float32), obs=obs, var=pd.DataFrame(index=genes)
    )
    a.obsm[key] = pd.DataFrame(scores, columns=list(SIMULATED), index=obs.index)
    a.uns["neurosig"] = {"dataset_id": f"sim_atlas{seed}", "modality": "multi_region"}
    return a
