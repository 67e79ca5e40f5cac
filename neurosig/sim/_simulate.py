"""The simulator: a cell table, then counts chunk by chunk, streamed to an h5ad.

Model, for cell ``i`` of profile column ``c`` (type, or malignant state) in patient ``p``:

``mu_ig = L_i * Q_pcg * exp(effects_ig)``, ``x_ig ~ NB(mu_ig, phi_g)``

- ``Q_pc = normalise(q_c * exp(b_p))``: the type profile with per-patient, per-gene
  random effects ``b_pg ~ N(0, patient_sd^2)`` (cells of one patient are correlated);
- ``L_i``: log-normal library size of the type (fitted, or assumed for 10x);
- ``effects``: the planted effects (all zero by default): for malignant cells, with latent
  neural input ``z_i = s_p + e_i``, log-folds ``neural_loading * z_i`` on the neural
  programme, ``mhc_effect * z_i`` on MHC-I genes, ``pdl1_effect * z_i`` on CD274;
  ligand-receptor folds on senders and receivers.
- Composition: per patient ``pi_p ~ Dirichlet(concentration * f_t * exp(g_t * s_p))``,
  cell counts ``~ Multinomial(n_p, pi_p)``, so the tumour-level neural score ``s_p``
  shifts the share of the types named in ``composition_effects``.

Every random stream derives from ``SeedSequence(seed)`` with a fixed key (cell table,
patient ``p``, chunk ``k``), so the same parameters give byte-identical files.
"""

from __future__ import annotations

import logging
import tempfile
from functools import lru_cache
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import yaml

from .. import _keys
from .._h5ad_writer import StreamingH5ad
from .._progress import progress as progress_bar
from .._provenance import package_versions
from .._resources import signatures_dir
from .._version import __version__
from ..datasets.harmonise import TARGET_SUM, log_normalise
from ..errors import InputDataError
from ..knowledge.signatures import library
from ..knowledge.vocabulary import lineage_of, vocabulary
from ._nb import sample_nb
from ._params import CELL_TYPES, MALIGNANT_STATES, SimParams
from ._profiles import library_params, load_profiles

log = logging.getLogger(__name__)
_TABLE, _PATIENT, _CHUNK, _REGION = 0, 1, 2, 3


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def planted_genes() -> dict:
    """Gene lists of the planted effects (``signatures/sim/planted.yaml``)."""
    return yaml.safe_load((signatures_dir() / "sim" / "planted.yaml").read_text())


def _select_genes(params: SimParams, q: pd.DataFrame, planted: dict) -> pd.Index:
    required = [g for key in ("neural_programme", "mhc_class_I", "pd_l1") for g in planted[key]["genes"]]
    required += [g for e in params.lr_effects for g in (e.ligand, e.receptor)]
    required += [g for genes in _region_genes(params, q.index).values() for g in genes]
    missing = sorted(set(required) - set(q.index))
    if missing:
        raise InputDataError(f"Planted genes {missing} are not in the simulator's gene universe.")
    if params.n_genes is None:
        return q.index
    if params.n_genes > len(q.index):
        raise InputDataError(f"n_genes={params.n_genes} exceeds the {len(q.index)} genes the profiles hold.")
    rank = q.max(axis=1).sort_values(ascending=False, kind="stable").index
    chosen = set(required)
    chosen.update([g for g in rank if g not in chosen][: params.n_genes - len(chosen)])
    return pd.Index([g for g in q.index if g in chosen])


def _region_genes(params: SimParams, universe: pd.Index) -> dict[int, list[str]]:
    """Per region effect (by position), its signature's genes in the gene universe."""
    out = {}
    lib = library() if params.region_effects else {}
    for i, e in enumerate(params.region_effects):
        if e.signature not in lib:
            raise InputDataError(
                f"region_effects names unknown signature {e.signature!r}; see `neurosig signatures list`."
            )
        genes = [g for g in lib[e.signature].weights if g in universe]
        if not genes:
            raise InputDataError(
                f"region_effects: no gene of {e.signature} is in the simulator's gene universe."
            )
        out[i] = genes
    return out


def _assign_regions(params: SimParams, obs: pd.DataFrame) -> pd.Series:
    """Each patient's cells split evenly at random between the regions (own random stream)."""
    rng = _rng(params.seed, _REGION)
    region = pd.Series("", index=obs.index, dtype=object)
    for _, idx in obs.groupby("patient", sort=True).indices.items():
        labels = np.resize(np.array(params.regions, dtype=object), len(idx))
        region.iloc[idx] = rng.permutation(labels)
    return region


def cell_table(params: SimParams) -> tuple[pd.DataFrame, dict]:
    """Cells (patient, type, state, latent neural input, library size) and the truth."""
    profiles = load_profiles()
    rng = _rng(params.seed, _TABLE)
    types = [t for t in CELL_TYPES if params.composition.get(t, 0) > 0]
    base = np.array([params.composition[t] for t in types])
    effect = np.array([params.composition_effects.get(t, 0.0) for t in types])
    states = [s for s in MALIGNANT_STATES if params.state_composition.get(s, 0) > 0]
    state_alpha = params.concentration * np.array([params.state_composition[s] for s in states])
    sizes = np.full(params.n_patients, params.n_cells // params.n_patients)
    sizes[: params.n_cells % params.n_patients] += 1
    neural = (
        rng.normal(0.0, params.patient_neural_sd, params.n_patients)
        if params.patient_neural_sd > 0
        else np.zeros(params.n_patients)
    )

    frames, planned = [], {}
    for p, (n_p, s_p) in enumerate(zip(sizes, neural, strict=True)):
        pid = f"P{p + 1:03d}"
        alpha = params.concentration * base * np.exp(effect * s_p)
        planned[pid] = dict(zip(types, (alpha / alpha.sum()).round(6).tolist(), strict=True))
        pi = rng.dirichlet(alpha)
        counts = rng.multinomial(n_p, pi)
        cell_types = np.repeat(types, counts)
        state = np.full(n_p, "NA", dtype=object)
        mal = cell_types == "malignant"
        if mal.any():
            state_counts = rng.multinomial(mal.sum(), rng.dirichlet(state_alpha))
            state[mal] = np.repeat(states, state_counts)
        z = np.full(n_p, np.nan)
        z[mal] = s_p + rng.normal(0.0, 1.0, mal.sum())
        columns = np.where(mal, "malignant_" + state.astype(str), cell_types)
        lib = np.empty(n_p)
        for col in np.unique(columns):
            mu, sd = library_params(profiles, params.technology, col)
            idx = columns == col
            lib[idx] = np.exp(rng.normal(mu, sd, idx.sum()))
        frames.append(
            pd.DataFrame(
                {
                    "patient": pid,
                    "cell_type": cell_types,
                    "malignant_state": state.astype(str),
                    "profile": columns,
                    "sim_neural_latent": z,
                    "sim_library": lib,
                }
            )
        )
    obs = pd.concat(frames, ignore_index=True)
    obs.index = pd.Index([f"{p}_c{i:07d}" for i, p in enumerate(obs["patient"])])
    if params.regions:
        obs["region"] = _assign_regions(params, obs)
    truth = {
        "patient_neural": dict(
            zip([f"P{p + 1:03d}" for p in range(params.n_patients)], neural.round(8).tolist(), strict=True)
        ),
        "planned_composition": planned,
    }
    return obs, truth


def simulate(params: SimParams, path: str | Path, *, progress: bool = True) -> Path:
    """Simulate a dataset and stream it to ``path`` (h5ad) in chunks of cells.

    Returns the path. The file holds the harmonised schema: ``layers["counts"]``, ``.X``
    = log1p CP10k (unless ``write_lognorm=False``), ``obs`` with ``patient``,
    ``cell_type``, ``malignant`` and the simulator's truth per cell
    (``malignant_state``, ``sim_neural_latent``, ``sim_library``), and
    ``uns["neurosig"]["simulation"]`` with the parameters and the planted truth.
    """
    profiles = load_profiles()
    planted = planted_genes()
    genes = _select_genes(params, profiles.q, planted)
    obs, truth = cell_table(params)
    q = profiles.q.loc[genes]
    columns = list(q.columns)
    q_mat = q.to_numpy(dtype=np.float64)  # genes x columns
    phi = profiles.dispersion.loc[genes, columns].to_numpy(dtype=np.float32).T  # columns x genes
    if params.technology == "tenx":
        phi = phi * np.float32(profiles.library["tenx_dispersion_scale"])
    gene_pos = {g: i for i, g in enumerate(genes)}
    sets = {
        k: np.array([gene_pos[g] for g in planted[k]["genes"]])
        for k in ("neural_programme", "mhc_class_I", "pd_l1")
    }
    floor = float(planted["lr_floor"])
    region_sets = {i: np.array([gene_pos[g] for g in gs]) for i, gs in _region_genes(params, genes).items()}

    @lru_cache(maxsize=2)
    def patient_profile(pid: str) -> np.ndarray:
        p = int(pid[1:]) - 1
        b = (
            _rng(params.seed, _PATIENT, p).normal(0.0, params.patient_sd, len(genes))
            if params.patient_sd > 0
            else 0.0
        )
        qp = q_mat * np.exp(b)[:, None]
        return (qp / qp.sum(0)).T.astype(np.float32)  # columns x genes

    col_index = obs["profile"].map({c: i for i, c in enumerate(columns)}).to_numpy()
    n_genes_detected = np.zeros(len(obs), dtype=np.int32)
    totals = np.zeros(len(obs), dtype=np.float64)
    layers = ("counts",) if params.write_lognorm else ()
    out_obs = _harmonised_obs(obs)
    var = pd.DataFrame({f"sim_dispersion_{c}": phi[i] for i, c in enumerate(columns)}, index=genes)
    starts = range(0, len(obs), params.chunk_size)
    with StreamingH5ad(path, out_obs, var, layers=layers) as writer:
        for k, a in enumerate(progress_bar(starts, desc="simulating", unit="chunk", disable=not progress)):
            b = min(a + params.chunk_size, len(obs))
            block = obs.iloc[a:b]
            mu = np.empty((b - a, len(genes)), dtype=np.float32)
            for pid, idx in block.groupby("patient", sort=False).indices.items():
                mu[idx] = patient_profile(pid)[col_index[a:b][idx]]
            lib = block["sim_library"].to_numpy(dtype=np.float32)
            mu *= lib[:, None]
            _apply_effects(mu, block, lib, params, sets, gene_pos, floor, region_sets)
            counts = sample_nb(mu, phi, _rng(params.seed, _CHUNK, k), groups=col_index[a:b])
            n_genes_detected[a:b] = np.diff(counts.indptr)
            totals[a:b] = np.asarray(counts.sum(1)).ravel()
            if params.write_lognorm:
                writer.append(log_normalise(counts), counts=counts)
            else:
                writer.append(counts)
        writer.obs["n_genes"] = n_genes_detected
        writer.obs["total_linear"] = totals
        writer.uns = {_keys.UNS: _provenance(params, truth, profiles, planted, genes)}
    return Path(path)


def _apply_effects(mu, block, lib, params, sets, gene_pos, floor, region_sets) -> None:
    mal = (block["cell_type"] == "malignant").to_numpy()
    if mal.any():
        z = block["sim_neural_latent"].to_numpy()[mal].astype(np.float32)
        for key, coef in (
            ("neural_programme", params.neural_loading),
            ("mhc_class_I", params.mhc_effect),
            ("pd_l1", params.pdl1_effect),
        ):
            if coef:
                rows = np.flatnonzero(mal)
                mu[np.ix_(rows, sets[key])] *= np.exp(coef * z)[:, None]
    types = block["cell_type"].to_numpy()
    for e in params.lr_effects:
        fold = np.float32(np.exp(e.log_fold))
        for cell_type, gene in ((e.sender, e.ligand), (e.receiver, e.receptor)):
            rows = np.flatnonzero(types == cell_type)
            if rows.size:
                j = gene_pos[gene]
                mu[rows, j] = (mu[rows, j] + lib[rows] * floor) * fold
    for i, e in enumerate(params.region_effects):
        rows = np.flatnonzero((types == e.cell_type) & (block["region"].to_numpy() == e.region))
        if rows.size:
            mu[np.ix_(rows, region_sets[i])] *= np.float32(np.exp(e.log_fold))


def _harmonised_obs(obs: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=obs.index)
    out["dataset"] = pd.Categorical(["simulated"] * len(obs))
    out["patient"] = obs["patient"].astype("category")
    if "region" in obs:
        out["sample"] = (obs["patient"] + "_" + obs["region"]).astype("category")
        out["region"] = obs["region"].astype("category")
    else:
        out["sample"] = obs["patient"].astype("category")
    out["cell_type"] = pd.Categorical(obs["cell_type"], categories=list(vocabulary()))
    out["cell_type_author"] = obs["profile"].astype("category")
    out["lineage"] = obs["cell_type"].map(lineage_of).astype("category")
    out["malignant"] = (obs["cell_type"] == "malignant").astype("boolean")
    out["malignant_state"] = obs["malignant_state"].astype("category")
    out["sim_neural_latent"] = obs["sim_neural_latent"].to_numpy()
    out["sim_library"] = obs["sim_library"].to_numpy()
    return out


def _provenance(params, truth, profiles, planted, genes) -> dict:
    lr = {
        f"{e.ligand}->{e.receptor}": {"sender": e.sender, "receiver": e.receiver, "log_fold": e.log_fold}
        for e in params.lr_effects
    }
    return {
        "schema_version": 1,
        "dataset_id": "simulated",
        "value_type": "counts",
        "transform": (
            f"X = log1p(x / sum(x) * {TARGET_SUM:g}) per cell, x = layers['counts']"
            if params.write_lognorm
            else "X = raw counts (write_lognorm=False)"
        ),
        "linear_layer": "counts" if params.write_lognorm else "X",
        "neurosig_version": __version__,
        "versions": package_versions(),
        "simulation": {
            "params": {
                k: v for k, v in params.to_dict().items() if k not in ("lr_effects", "region_effects")
            },
            "truth": {
                "patient_neural": truth["patient_neural"],
                "planned_composition": truth["planned_composition"],
                "neural_programme": [g for g in planted["neural_programme"]["genes"] if g in genes],
                "mhc_class_I": [g for g in planted["mhc_class_I"]["genes"] if g in genes],
                "pd_l1": [g for g in planted["pd_l1"]["genes"] if g in genes],
                "lr_effects": lr,
                "region_effects": {
                    f"{e.region}:{e.cell_type}:{e.signature}": e.log_fold for e in params.region_effects
                },
                "effects": {
                    "neural_loading": params.neural_loading,
                    "mhc_effect": params.mhc_effect,
                    "pdl1_effect": params.pdl1_effect,
                    "composition_effects": dict(params.composition_effects),
                },
            },
            "profiles": profiles.provenance,
        },
    }


def simulate_adata(params: SimParams, *, workdir: str | Path | None = None) -> ad.AnnData:
    """Simulate in memory (through the same streamed writer, into a temporary file)."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = simulate(params, Path(tmp) / "sim.h5ad", progress=False)
        return ad.read_h5ad(path)
