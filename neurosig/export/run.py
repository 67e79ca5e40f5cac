"""Everything one run writes, from the AnnData the pipeline's stages filled."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anndata as ad
import h5py
import pandas as pd

from .. import _keys
from .._atomic import atomic_path
from .._outdir import own_folder
from .._provenance import package_versions, write_provenance
from .._scale import ATLAS_CELLS, keep_matrix
from .._version import __version__
from ..claims import pool_evidence
from ..pp import qc_table, summary_table
from ..tl import score_summary
from .communication import write_communication
from .evidence import write_evidence
from .patient_scores import patient_scores, sample_dictionary, sample_scores, write_patient_scores
from .report import render_report, write_report


def run_provenance(adata: ad.AnnData) -> dict[str, Any]:
    """neurosig and dependency versions, the source, input files' hashes and the parameters.

    Deterministic (no clock): the same run gives the same record, so it can sit inside
    files that must be byte-identical between runs (the data dictionary, the report).
    """
    meta = _keys.record(adata)
    return {
        "neurosig_version": __version__,
        "source": dict(meta.get("source", {"dataset": meta.get("dataset_id", "")})),
        "parameters": dict(meta.get("run_parameters", {})),
        "input_files": dict(meta.get("files", {})),
        "versions": package_versions(),
    }


CELLS_MATRIX_MAX = ATLAS_CELLS
"""Above this many cells ``cells.h5ad`` holds the results only, unless ``write_cells=True``."""


def cells_for_export(adata: ad.AnnData, write_cells: bool | None = None) -> ad.AnnData:
    """What ``cells.h5ad`` holds: everything, or every per-cell result without the matrix.

    ``write_cells=None`` keeps the matrix up to :data:`CELLS_MATRIX_MAX` cells; above it
    (an atlas) the file holds ``.obs``, ``.var``, ``.obsm`` and ``.uns`` but no ``X`` or
    layers: a second full copy of a million-cell matrix is minutes of compression and
    gigabytes of disk, and the input already holds it. ``True`` always writes the matrix.
    """
    if keep_matrix(adata.n_obs, write_cells):
        return adata
    return ad.AnnData(obs=adata.obs, var=adata.var, obsm=dict(adata.obsm), uns=adata.uns)


def write_cells_h5ad(adata: ad.AnnData, path: str | Path, write_cells: bool | None = None) -> None:
    """Write :func:`cells_for_export` (gzip) to ``path``; a backed matrix is copied, never read whole.

    anndata writes a backed ``X`` by reading it into memory; here the file is written
    without it and the ``X`` group is then copied from the backed file by HDF5, block by
    block (stored as it is in the source, without recompression).
    """
    cells = cells_for_export(adata, write_cells)
    if not (cells is adata and adata.isbacked):
        cells.write_h5ad(path, compression="gzip")
        return
    results = ad.AnnData(
        obs=adata.obs, var=adata.var, obsm=dict(adata.obsm), layers=dict(adata.layers), uns=adata.uns
    )
    results.write_h5ad(path, compression="gzip")
    with h5py.File(path, "a") as dst:
        dst.copy(adata.file["X"], "X")


def write_tables(adata: ad.AnnData, out: Path, write_cells: bool | None = None) -> dict[str, Path]:
    """cells.h5ad, summary.csv, qc.csv, scores_by_patient.csv, the communication and claims files.

    ``write_cells``: see :func:`cells_for_export`.
    """
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    with atomic_path(out / "cells.h5ad") as tmp:
        write_cells_h5ad(adata, tmp, write_cells)
    paths["cells.h5ad"] = out / "cells.h5ad"
    tables = [("summary.csv", summary_table(adata)), ("qc.csv", qc_table(adata))]
    if _keys.SCORE_GENES in adata.obsm:
        tables.append(("scores_by_patient.csv", score_summary(adata, _keys.SCORE_GENES)))
    for name, table in tables:
        with atomic_path(out / name) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")
        paths[name] = out / name
    paths.update(write_communication(adata, out))
    claims = adata.uns[_keys.UNS].get(_keys.CLAIMS)
    if claims is not None:
        paths.update(write_evidence(pool_evidence([claims["evidence"]]), claims["per_patient"], out))
    return paths


def write_run(
    adata: ad.AnnData, out: str | Path, *, started: float | None = None, write_cells: bool | None = None
) -> dict[str, Path]:
    """Write every output of a run to ``out`` (see docs/exports.md) and ``provenance.json`` last.

    ``provenance.json`` lists every other file with its sha256, so a folder whose
    provenance exists is complete. The run owns ``out`` (:func:`neurosig._outdir.own_folder`):
    a folder holding files neurosig did not write is refused, an earlier run's files are
    removed first (its ``provenance.json`` before anything else), and a lock keeps a
    second run out while this one writes. ``started`` (a ``time.perf_counter()`` value) records
    the run's seconds in it. ``write_cells``: whether ``cells.h5ad`` holds the matrix
    (default: up to :data:`CELLS_MATRIX_MAX` cells; see :func:`cells_for_export`).
    """
    out = Path(out)
    with own_folder(out, keep=WORKFLOW_FILES):
        if _keys.record(adata).get("modality") in ("bulk", "multi_region"):
            return write_sample_run(adata, out, started=started)
        return _write_run(adata, out, started, write_cells)


#: What the workflow keeps in a dataset's run folder beside the run's outputs.
WORKFLOW_FILES = ("fetch.json", "stages/*")


def _write_run(
    adata: ad.AnnData, out: Path, started: float | None, write_cells: bool | None
) -> dict[str, Path]:
    paths = write_tables(adata, out, write_cells)
    record = run_provenance(adata)
    scores = None
    if _keys.SCORE_GENES in adata.obsm:
        scores = patient_scores(adata)
        paths.update(write_patient_scores(scores, out, record))
    evidence = pd.read_csv(paths["evidence.csv"]) if "evidence.csv" in paths else None
    per_patient = (
        pd.read_csv(paths["evidence_per_patient.csv"]) if "evidence_per_patient.csv" in paths else None
    )
    name = str(_keys.record(adata).get(_keys.DATASET_ID, ""))
    html = render_report(
        adata,
        evidence=evidence,
        per_patient=per_patient,
        patient_scores=scores,
        provenance=_flat(record),
        title=f"neurosig report: {name}",
    )
    paths["report.html"] = write_report(out / "report.html", html)
    extra = {"seconds": round(time.perf_counter() - started, 2)} if started is not None else {}
    paths["provenance.json"] = write_provenance(
        out, paths, **{k: v for k, v in record.items() if k != "versions"}, **extra
    )
    return paths


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    """One level of keys for the report's provenance table."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in sorted(value.items())})  # h5ad sorts dict keys
        else:
            out[key] = value
    return out


def _with_coverage_tables(adata: ad.AnnData) -> ad.AnnData:
    """A copy whose score records hold coverage and details as tables (one h5ad group each).

    Written as nested dictionaries, the records of two library scorings are ~1,600 h5ad
    groups and take seconds to write; as DataFrames (one row per signature; the rescued
    and missing genes as JSON text) they write in a fraction of that.
    """
    out = adata.copy()
    for rec in _keys.record(out).get(_keys.SCORES, {}).values():
        if isinstance(rec.get("coverage"), pd.DataFrame):
            continue  # already tables (the AnnData was read back from such a file)
        cov = pd.DataFrame.from_dict(rec["coverage"], orient="index")
        for col in ("rescued", "missing"):
            if col in cov:
                cov[col] = cov[col].map(lambda v: json.dumps(v.tolist() if hasattr(v, "tolist") else v))
        rec["coverage"] = cov
        rec["details"] = pd.DataFrame.from_dict(rec["details"], orient="index")
        rec["refused"] = pd.DataFrame({"reason": pd.Series(rec["refused"], dtype=str)})
    return out


def write_sample_run(adata: ad.AnnData, out: str | Path, *, started: float | None = None) -> dict[str, Path]:
    """Outputs of a run on bulk or multi-region data (one row per sample); ``provenance.json`` last.

    ``samples.h5ad`` (the AnnData with every score), ``patient_scores.csv``/``.parquet``
    with ``patient_scores.schema.json`` (one row per sample,
    :func:`~neurosig.export.patient_scores.sample_scores`), and the evidence files when the
    claims were tested. The provenance records ESTIMATE's platform caveat and the Wang 2017
    agreement with the published subtypes.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    with atomic_path(out / "samples.h5ad") as tmp:
        _with_coverage_tables(adata).write_h5ad(tmp, compression="gzip")
    paths["samples.h5ad"] = out / "samples.h5ad"
    meta = _keys.record(adata)
    record = run_provenance(adata)
    tumour = {k: meta[k] for k in ("estimate", "wang2017", "survival") if k in meta}
    # read back from an h5ad (the workflow's stages), lists come as arrays: JSON needs lists
    record["tumour_scores"] = json.loads(json.dumps(tumour, default=lambda o: o.tolist()))
    paths.update(write_patient_scores(sample_scores(adata), out, record, dictionary=sample_dictionary))
    claims = meta.get(_keys.CLAIMS)
    if claims is not None and "evidence" in claims:
        paths.update(write_evidence(pool_evidence([claims["evidence"]]), claims["per_patient"], out))
    extra = {"seconds": round(time.perf_counter() - started, 2)} if started is not None else {}
    paths["provenance.json"] = write_provenance(
        out, paths, **{k: v for k, v in record.items() if k != "versions"}, **extra
    )
    return paths
