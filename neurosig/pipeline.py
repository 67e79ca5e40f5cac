"""``neurosig run``: the whole job on one dataset, one command.

Load (manifest id or user h5ad) -> harmonise -> basic QC -> annotate cells without author
labels (markers, copy number) -> score every library
signature (``score_genes``, seeded) -> Neftel states of malignant cells -> ligand-receptor
communication between cell types (CellPhoneDB v5, over all cells and per patient) -> the
review's claims tested with patient-aware statistics, then
write ``OUT/cells.h5ad``, ``OUT/summary.csv`` (cells per patient x cell type),
``OUT/qc.csv`` (genes per cell by patient and type), ``OUT/scores_by_patient.csv``
(mean and median of every signature per patient x cell type), the communication
tables and figures (``interactions.csv``, ``interactions_by_patient.csv``,
``cp_ampar*.csv``, ``communication.json``, ``communication_dotplot.png``,
``axis_diagram.png``), the claims' evidence (``evidence.csv`` with one row per claim
and the pooled row, ``evidence_per_patient.csv``, ``forest/<claim>.png``) and
``OUT/provenance.json``.
Later stages (annotate, score, communicate, claims, export) extend this same function.
Every file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import anndata as ad
import pandas as pd

from ._atomic import atomic_path
from ._provenance import file_hash, write_provenance
from .datasets import default_dataset, load, load_h5ad
from .pp import qc_table, summary_table

log = logging.getLogger(__name__)


def run(
    out: str | Path,
    *,
    dataset: str | None = None,
    input: str | Path | None = None,
    patient_key: str | None = None,
    label_key: str | None = None,
    sample_key: str | None = None,
    value_type: str | None = None,
    seed: int = 0,
    n_perms: int = 1000,
    progress: bool = True,
) -> dict[str, Path]:
    """Run neurosig on one dataset and write its outputs to ``out``.

    Parameters
    ----------
    out
        Output folder (created).
    dataset
        Manifest id; default: :func:`neurosig.datasets.default_dataset`.
    input
        A user h5ad instead of a manifest dataset (needs ``patient_key``).
    patient_key, label_key, sample_key, value_type
        How to read the user h5ad (see :func:`neurosig.datasets.load_h5ad`).
    seed
        Seed of control-gene sampling in scoring and of the communication shuffles.
    n_perms
        Label shuffles of the communication test.

    Returns
    -------
    Paths of the files written, by name.
    """
    start = time.perf_counter()
    out = Path(out)
    if input is not None and dataset is not None:
        raise ValueError("Give either a dataset id or an input h5ad, not both.")
    if input is not None:
        if not patient_key:
            raise ValueError("--input needs --patient-key: the .obs column naming each cell's patient.")
        adata = load_h5ad(
            input,
            patient_key=patient_key,
            label_key=label_key,
            sample_key=sample_key,
            value_type=value_type,
        )
        source: dict[str, Any] = {"input": str(input), "sha256": file_hash(input)}
    else:
        dataset = dataset or default_dataset()
        adata = load(dataset, progress=progress)
        source = {"dataset": dataset}
    params = {
        "dataset": dataset or "",
        "input": str(input or ""),
        "patient_key": patient_key or "",
        "label_key": label_key or "",
        "sample_key": sample_key or "",
        "value_type": value_type or "",
    }
    params["seed"] = seed
    params["n_perms"] = n_perms
    adata.uns["neurosig"]["run_parameters"] = params
    annotate_if_needed(adata, seed=seed)
    score_cells(adata, seed=seed)
    communicate_cells(adata, seed=seed, n_perms=n_perms)
    test_cells(adata, seed=seed)
    written = write_outputs(adata, out)
    written["provenance.json"] = write_provenance(
        out,
        written,
        source=source,
        parameters=params,
        input_files=adata.uns["neurosig"].get("files", {}),
        seconds=round(time.perf_counter() - start, 2),
    )
    return written


def annotate_if_needed(adata: ad.AnnData, seed: int = 0) -> None:
    """Annotate by markers and copy number when some cells lack author labels.

    Without a normal reference (or gene positions) the copy-number step is skipped with a
    warning and recorded; cell types still come from markers.
    """
    import warnings

    from .annotate import annotate, needs_annotation
    from .errors import InputDataError

    if not needs_annotation(adata):
        adata.obs["cell_type_source"] = pd.Categorical(
            ["author"] * adata.n_obs, categories=["author", "markers", "cnv"]
        )
        return
    try:
        annotate(adata, seed=seed)
    except InputDataError as err:
        warnings.warn(f"copy-number step skipped: {err}", UserWarning, stacklevel=2)
        annotate(adata, seed=seed, call_cnv=False)
        adata.uns["neurosig"]["annotation"]["cnv_skipped"] = str(err)


def score_cells(adata: ad.AnnData, seed: int = 0) -> None:
    """Score the whole library on ``X``; add Neftel states when the meta-modules score."""
    import warnings

    from .annotate import NEFTEL_STATES, neftel_states
    from .tl import score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # refused low-coverage sets are recorded in .uns
        scores = score(adata, None, method="score_genes", random_state=seed)
    if all(m in scores.columns for ms in NEFTEL_STATES.values() for m in ms):
        neftel_states(adata, key="neurosig_score_genes")


def communicate_cells(adata: ad.AnnData, seed: int = 0, n_perms: int = 1000) -> None:
    """Communication between cell types, over all cells and per patient.

    CellPhoneDB v5 is read from the data mirror or cache; where it cannot be had (a
    fresh machine offline), liana's bundled consensus resource (protein ligands only) is
    used instead, with a warning, and the resource used is recorded. Data where the test
    cannot run (a single cell type, too few resource genes) is recorded in
    ``.uns["neurosig"]["communication"]["not_run"]`` with the reason, and warned about.
    """
    import warnings

    from .errors import FetchError, InputDataError
    from .tl import communicate

    try:
        try:
            communicate(adata, "cell_type", sample_key="patient", n_perms=n_perms, seed=seed)
        except FetchError as err:
            warnings.warn(
                f"CellPhoneDB v5 is not available ({err}); using liana's consensus resource, which "
                "has no metabolite ligands (glutamate, noradrenaline, adenosine, PGE2).",
                UserWarning,
                stacklevel=2,
            )
            communicate(
                adata,
                "cell_type",
                sample_key="patient",
                n_perms=n_perms,
                seed=seed,
                resource="liana_consensus",
            )
    except InputDataError as err:
        warnings.warn(f"communication not inferred: {err}", UserWarning, stacklevel=2)
        adata.uns["neurosig"]["communication"] = {"not_run": str(err)}


def test_cells(adata: ad.AnnData, seed: int = 0) -> None:
    """Test every claim of ``signatures/claims.yaml`` on this dataset (stored in ``.uns``)."""
    from .tl import test_claims

    test_claims(adata, seed=seed)


def write_outputs(adata: ad.AnnData, out: Path) -> dict[str, Path]:
    """Write cells.h5ad, summary.csv, qc.csv, scores_by_patient.csv and communication atomically."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    with atomic_path(out / "cells.h5ad") as tmp:
        adata.write_h5ad(tmp, compression="gzip")
    paths["cells.h5ad"] = out / "cells.h5ad"
    tables = [("summary.csv", summary_table(adata)), ("qc.csv", qc_table(adata))]
    if "neurosig_score_genes" in adata.obsm:
        from .tl import score_summary

        tables.append(("scores_by_patient.csv", score_summary(adata, "neurosig_score_genes")))
    for name, table in tables:
        with atomic_path(out / name) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")
        paths[name] = out / name
    from .communicate.export import write_communication

    paths.update(write_communication(adata, out))
    claims = adata.uns["neurosig"].get("claims")
    if claims is not None:
        from .claims import pool_evidence
        from .claims.export import write_evidence

        paths.update(write_evidence(pool_evidence([claims["evidence"]]), claims["per_patient"], out))
    return paths
