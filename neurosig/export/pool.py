"""Pool the runs of several datasets: evidence (the dataset as unit), per-patient scores, a report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .._atomic import atomic_path
from .._provenance import file_hash, package_versions, write_provenance
from .._version import __version__
from ..claims import pool_evidence
from ..errors import InputDataError
from .evidence import write_evidence
from .patient_scores import sample_dictionary, write_patient_scores
from .report import render_report, write_report


def pool_runs(run_dirs: Sequence[str | Path], out: str | Path) -> dict[str, Path]:
    """Pool finished run folders (each with ``provenance.json``) into ``out``.

    Writes ``evidence.csv`` (every dataset's rows and the random-effects pooled row per
    claim), ``evidence_per_patient.csv``, ``forest/<claim>.png``, ``patient_scores.csv``,
    ``.parquet`` and data dictionary (all single-cell datasets' patients),
    ``sample_scores.csv``/``.parquet``/``.schema.json`` (bulk and multi-region cohorts' tumour
    samples), ``summary.csv`` (cells per
    patient x cell type; 0 for a type a dataset lacks), ``report.html`` and
    ``provenance.json`` (each run's provenance hash).
    """
    dirs = [Path(d) for d in run_dirs]
    unfinished = [str(d) for d in dirs if not (d / "provenance.json").is_file()]
    if unfinished:
        raise InputDataError(
            f"Runs {unfinished} have no provenance.json: they did not finish; run them again."
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    def read(name: str) -> list[pd.DataFrame]:
        return [pd.read_csv(d / name) for d in dirs if (d / name).is_file()]

    # each run's evidence holds its dataset's rows and a one-dataset "pooled" row: pool the former
    evidence = pool_evidence(
        [t[~t["dataset"].astype(str).str.startswith("pooled")] for t in read("evidence.csv")]
    )
    per_patient = pd.concat(read("evidence_per_patient.csv"), ignore_index=True)
    paths = write_evidence(evidence, per_patient, out)
    # single-cell runs give one row per patient, bulk and multi-region runs one per tumour
    # sample (samples.h5ad): two tables, each with its own data dictionary
    scores = [
        pd.read_parquet(d / "patient_scores.parquet")
        for d in dirs
        if (d / "patient_scores.parquet").is_file() and not (d / "samples.h5ad").is_file()
    ]
    samples = [
        pd.read_parquet(d / "patient_scores.parquet")
        for d in dirs
        if (d / "patient_scores.parquet").is_file() and (d / "samples.h5ad").is_file()
    ]
    table = pd.concat(scores, ignore_index=True) if scores else None
    runs = {d.name: file_hash(d / "provenance.json") for d in dirs}
    pooled_files = ("evidence.csv", "evidence_per_patient.csv", "patient_scores.parquet", "summary.csv")
    # what the data dictionary and report record: the pooled files' hashes, no clock, so the
    # same runs give the same bytes (provenance.json also lists each run's provenance hash)
    inputs = {d.name: {f: file_hash(d / f) for f in pooled_files if (d / f).is_file()} for d in dirs}
    record = {
        "neurosig_version": __version__,
        "runs": {d.name: json.loads((d / "provenance.json").read_text()).get("source", {}) for d in dirs},
        "input_files": inputs,
        "versions": package_versions(),
    }
    if table is not None:
        paths.update(write_patient_scores(table, out, record))
    sample_table = pd.concat(samples, ignore_index=True) if samples else None
    if sample_table is not None:
        paths.update(
            write_patient_scores(
                sample_table,
                out,
                record,
                dictionary=sample_dictionary,
                name="sample_scores",
            )
        )
    summaries = read("summary.csv")
    if summaries:
        summary = pd.concat(summaries, ignore_index=True)
        counts = [c for c in summary.columns if c not in ("dataset", "patient")]
        summary[counts] = summary[counts].fillna(0).astype(int)  # a type absent from a dataset: 0 cells
        with atomic_path(out / "summary.csv") as tmp:
            summary.to_csv(tmp, index=False)
        paths["summary.csv"] = out / "summary.csv"
    flat = {"neurosig_version": __version__}
    flat.update({f"{run}/{name}": sha for run, files in inputs.items() for name, sha in files.items()})
    html = render_report(
        None,
        evidence=evidence,
        per_patient=per_patient,
        patient_scores=table,
        provenance=flat,
        title=f"neurosig: {len(dirs)} datasets pooled",
        sample_scores=sample_table,
    )
    paths["report.html"] = write_report(out / "report.html", html)
    paths["provenance.json"] = write_provenance(
        out, paths, runs=record["runs"], input_files=inputs, run_provenance_sha256=runs
    )
    return paths
