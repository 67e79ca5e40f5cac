"""``neurosig run``: the whole job on one dataset, one command, as named stages.

Stages (:data:`STAGES`), each a function of an AnnData that the workflow
(``workflows/Snakefile``) also runs one at a time through ``neurosig stage NAME``:

``harmonise``
    load a manifest id (fetched and checksum-verified) or a user h5ad into neurosig's schema;
``annotate``
    cell types and malignancy by markers and copy number where authors gave no labels;
``score``
    every library signature (``score_genes``, seeded), Neftel states of malignant cells;
``communicate``
    CellPhoneDB's method between cell types, over all cells and per patient;
``test``
    the review's claims with patient-aware statistics;

then :func:`neurosig.export.write_run` writes every output (``cells.h5ad``,
``patient_scores.csv/.parquet`` with its data dictionary, ``evidence.csv``, the
interaction tables, ``report.html``, ``provenance.json``...; see docs/exports.md). Every
file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from . import _keys
from ._atomic import atomic_path
from ._outdir import MATRIX_FILE, own_folder
from ._provenance import file_hash
from ._scale import keep_matrix
from .annotate import NEFTEL_STATES, needs_annotation
from .datasets import default_dataset, fetch_dataset, get_manifest, load, load_h5ad
from .datasets.parsers.h5ad import h5ad_n_obs
from .errors import InputDataError, OfflineError
from .export import write_run
from .export.run import WORKFLOW_FILES
from .score.samples import score_samples
from .tl import annotate, communicate, neftel_states, score, test_claims

log = logging.getLogger(__name__)


def harmonise(
    *,
    dataset: str | None = None,
    input: str | Path | None = None,
    patient_key: str | None = None,
    label_key: str | None = None,
    sample_key: str | None = None,
    value_type: str | None = None,
    name: str | None = None,
    progress: bool = True,
    patient: str | None = None,
    symbol_column: str | None = None,
    map_ensembl: bool = False,
    write_cells: bool | None = True,
    stream_to: str | Path | None = None,
) -> ad.AnnData:
    """Stage *harmonise*: a manifest dataset or a user h5ad in neurosig's schema.

    The source (dataset id, or path and sha256 of the h5ad) is recorded in
    ``.uns["neurosig"]["source"]``. ``name`` names a user h5ad's dataset (default: the
    file's stem); ``patient``, ``symbol_column`` and ``map_ensembl`` are those of
    :func:`neurosig.datasets.load_h5ad`. ``write_cells`` (as :func:`run`'s; default ``True``:
    keep everything) decides whether a user h5ad's counts layer is kept: ``None`` keeps it up
    to 100,000 cells, and above (an atlas) holds one matrix instead of two (``neurosig._scale``).
    ``stream_to``: for such an atlas (counts not kept), harmonise chunk by chunk into this
    h5ad and return it backed (:mod:`neurosig.datasets.streamed`; the matrix stays on disk).
    """
    if input is not None and dataset is not None:
        raise InputDataError("Give either a dataset id (--dataset) or an input h5ad (--input), not both.")
    if input is not None:
        if not patient_key and not patient:
            raise InputDataError(
                "--input needs --patient-key (the .obs column naming each cell's patient) or, for a "
                "single-sample file, --patient NAME."
            )
        keep = keep_matrix(h5ad_n_obs(input), write_cells)
        adata = load_h5ad(
            input,
            patient_key=patient_key or None,
            patient=patient,
            label_key=label_key,
            sample_key=sample_key,
            value_type=value_type,
            dataset_id=name or Path(input).stem,
            symbol_column=symbol_column,
            map_ensembl=map_ensembl,
            keep_counts=keep,
            stream_to=None if keep else stream_to,
        )
        source: dict[str, Any] = {"input": str(input), "sha256": file_hash(input)}
    else:
        dataset = dataset or default_dataset()
        adata = load(dataset, progress=progress)
        source = {"dataset": dataset}
        unmapped = list(_keys.record(adata).get(_keys.CELLS, {}).get("unmapped_labels", []))
        if unmapped:  # a manifest entry that lets unmapped labels through (schema.unmapped_labels)
            notice(
                adata,
                f"{len(unmapped)} author labels map to no cell type ({', '.join(map(str, unmapped[:10]))}"
                f"{', ...' if len(unmapped) > 10 else ''}): their cells are annotated by markers",
            )
    adata.uns[_keys.UNS][_keys.SOURCE] = source
    adata.uns[_keys.UNS][_keys.RUN_PARAMETERS] = {
        "dataset": dataset or "",
        "input": str(input or ""),
        "patient_key": patient_key or "",
        "patient": patient or "",
        "label_key": label_key or "",
        "sample_key": sample_key or "",
        "value_type": value_type or "",
        "symbol_column": symbol_column or "",
        "map_ensembl": bool(map_ensembl),
    }
    return adata


#: Modalities with one row per tumour sample (no cells: no annotate or communicate stage).
SAMPLE_MODALITIES = ("bulk", "multi_region")


def is_bulk(adata: ad.AnnData) -> bool:
    """Whether ``adata`` holds tumour samples (bulk or multi-region), not cells."""
    return _keys.record(adata).get("modality") in SAMPLE_MODALITIES


def stages_for(adata: ad.AnnData) -> list[str]:
    """The stages after *harmonise* that apply to ``adata`` (bulk data skip annotate, communicate)."""
    if is_bulk(adata):
        return ["score", "test"]
    return list(STAGES)[1:]


def _record(adata: ad.AnnData, **params: Any) -> None:
    adata.uns[_keys.UNS].setdefault(_keys.RUN_PARAMETERS, {}).update(params)


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
    patient: str | None = None,
    symbol_column: str | None = None,
    map_ensembl: bool = False,
    write_cells: bool | None = None,
) -> dict[str, Path]:
    """Run neurosig on one dataset and write its outputs to ``out``.

    The output folder is checked (writable, not under a file, holding nothing but an
    earlier run's files) and locked before any work; see :mod:`neurosig._outdir`.

    Parameters
    ----------
    out
        Output folder (created).
    dataset
        Manifest id; default: :func:`neurosig.datasets.default_dataset`.
    input
        A user h5ad instead of a manifest dataset (needs ``patient_key``).
    patient_key, label_key, sample_key, value_type, patient, symbol_column, map_ensembl
        How to read the user h5ad (see :func:`neurosig.datasets.load_h5ad`).
    seed
        Seed of annotation, control-gene sampling in scoring and the communication shuffles.
    n_perms
        Label shuffles of the communication test.
    progress
        Print each stage, its time and where the results are to standard error.
    write_cells
        Whether ``cells.h5ad`` holds the expression matrix (default: up to 100,000 cells;
        above, every per-cell result without it; see :func:`neurosig.export.cells_for_export`).
        A user h5ad above 100,000 cells whose matrix is not written is harmonised to
        ``out/.neurosig-matrix.h5ad`` in chunks and every stage reads it from there in
        chunks (:mod:`neurosig.datasets.streamed`; removed at the end): memory does not
        grow with the matrix, disk needs one copy of it (docs/scale.md).

    Returns
    -------
    Paths of the files written, by name.
    """
    start = time.perf_counter()
    check_n_perms(n_perms)
    say = _progress(progress, len(STAGES) + 1)
    with own_folder(out, keep=WORKFLOW_FILES), _matrix_file(out) as matrix_file:
        adata = None
        try:
            with say("harmonise"):
                adata = harmonise(
                    dataset=dataset,
                    input=input,
                    patient_key=patient_key,
                    label_key=label_key,
                    sample_key=sample_key,
                    value_type=value_type,
                    progress=progress,
                    patient=patient,
                    symbol_column=symbol_column,
                    map_ensembl=map_ensembl,
                    write_cells=write_cells,
                    stream_to=matrix_file,
                )
            stages = stages_for(adata)
            say.total = len(stages) + 2
            for name in stages:
                with say(name):
                    STAGES[name](adata, seed=seed, n_perms=n_perms, progress=progress)
            with say("export"):
                written = write_run(adata, out, started=start, write_cells=write_cells)
        finally:  # close the matrix file before it is removed, also when a stage failed
            if adata is not None and adata.isbacked:
                adata.file.close()
    if progress:
        hint = " (open report.html)" if "report.html" in written else ""
        print(f"neurosig: {len(written)} files in {Path(out).resolve()}{hint}", file=sys.stderr)
    return written


@contextlib.contextmanager
def _matrix_file(out: str | Path) -> Iterator[Path]:
    """Where an atlas run keeps its harmonised matrix on disk (:data:`MATRIX_FILE`); removed at the end.

    Only a run above :data:`neurosig._scale.ATLAS_CELLS` that does not write the matrix
    to ``cells.h5ad`` writes it (the other runs hold the matrix in memory). It needs free
    disk for one copy of the log-normalised matrix: 8 bytes per non-zero.
    """
    path = Path(out) / MATRIX_FILE
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


class _progress:
    """``with say(stage):`` prints ``[i/n] stage ... done in s`` to standard error."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total, self.i = enabled, total, 0

    def __call__(self, name: str):
        self.i += 1
        self.name = name
        return self

    def __enter__(self):
        self.t0 = time.perf_counter()
        if self.enabled:
            print(f"[{self.i}/{self.total}] {self.name} ...", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self.enabled and exc[0] is None:
            dt = time.perf_counter() - self.t0
            print(f"[{self.i}/{self.total}] {self.name} done in {dt:.1f} s", file=sys.stderr, flush=True)
        return False


def notice(adata: ad.AnnData, text: str) -> None:
    """Warn about something the run changed or could not do, and list it for the report's top."""
    warnings.warn(text, UserWarning, stacklevel=3)
    store = _keys.store(adata)
    store[_keys.NOTICES] = [*map(str, store.get(_keys.NOTICES, [])), text]  # a read h5ad gives an array


def check_n_perms(n_perms: Any) -> int:
    """Refuse a number of shuffles that gives no valid p-value (negative, 1, not an integer)."""
    if isinstance(n_perms, bool) or not isinstance(n_perms, int | np.integer) or n_perms < 0 or n_perms == 1:
        raise InputDataError(
            f"n_perms={n_perms!r}: the communication test needs an integer number of label "
            "shuffles, at least 2 (default 1000; 0 skips the test and leaves p-values empty)."
        )
    return int(n_perms)


def annotate_if_needed(adata: ad.AnnData, seed: int = 0, **_: Any) -> None:
    """Annotate by markers and copy number when some cells lack author labels.

    Without a normal reference (or gene positions) the copy-number step is skipped with a
    warning and recorded; cell types still come from markers. When the markers cannot
    annotate these data either (too few cells or marker genes, one cluster), the cells
    without author labels stay ``unknown`` with a warning, and the run goes on with what
    the labels allow.
    """
    _record(adata, seed=seed)
    if is_bulk(adata):
        return  # tumour samples have no cells to annotate
    if not needs_annotation(adata):
        adata.obs["cell_type_source"] = pd.Categorical(
            ["author"] * adata.n_obs, categories=["author", "markers", "cnv"]
        )
        return
    try:
        annotate(adata, seed=seed)
    except InputDataError as err:
        notice(adata, f"copy-number step skipped: {err}")
        try:
            annotate(adata, seed=seed, call_cnv=False)
        except InputDataError as err2:
            n = int((adata.obs["cell_type"].astype(str) == "unknown").sum())
            notice(
                adata,
                f"marker annotation not possible ({err2}); {n} of {adata.n_obs} cells without an "
                "author label stay 'unknown' and count in no cell type",
            )
            adata.obs["cell_type_source"] = pd.Categorical(
                np.where(adata.obs["cell_type"].astype(str) == "unknown", "none", "author"),
                categories=["author", "markers", "cnv", "none"],
            )
            _keys.store(adata)[_keys.ANNOTATION] = {"not_run": str(err2), "n_unknown": n}
            return
        adata.uns[_keys.UNS][_keys.ANNOTATION]["cnv_skipped"] = str(err)


def score_cells(
    adata: ad.AnnData, seed: int = 0, progress: bool = False, states_method: str = "tirosh", **_: Any
) -> None:
    """Score the whole library on ``X``; add Neftel states when the meta-modules score.

    Bulk and multi-region data (one row per sample) are scored per sample instead:
    :func:`neurosig.score.samples.score_samples` (ssGSEA and UCell over the library,
    ESTIMATE, the Wang 2017 subtype with ``n_perm`` = 1,000 permutations seeded by ``seed``).

    The library is scored with ``score_genes`` (``.obsm["neurosig_score_genes"]``). The
    states' meta-modules are scored again as the authors scored them: ``states_method``
    (default ``tirosh``: 30 bins, 100 controls per gene, seeded by ``seed``) on
    ``log2(TPM/10+1)`` of ``.layers["tpm"]``, or on ``X`` as it is without a TPM layer
    (``.obsm["neftel_modules"]``; recorded in ``.uns["neurosig"]["neftel_states"]``).
    """
    _record(adata, seed=seed)
    if is_bulk(adata):
        score_samples(adata, seed=seed, progress=progress)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # refused low-coverage sets are recorded in .uns, summed up below
        scores = score(adata, None, method="score_genes", seed=seed, progress=progress)
    rec = _keys.record(adata)[_keys.SCORES][_keys.SCORE_GENES]
    refused = dict(rec.get("refused", {}))
    if refused:
        cov = rec["coverage"]
        worst = sorted(refused, key=lambda sid: cov[sid]["fraction"])[:5]
        notice(
            adata,
            f"{len(refused)} of {len(cov)} signatures not scored: too few of their genes are in the data "
            f"({adata.n_vars:,} genes; a signature needs at least {rec['min_genes']} genes and "
            f"{rec['min_coverage']:.0%} of its genes), e.g. "
            + ", ".join(f"{sid} {cov[sid]['n_found']}/{cov[sid]['n_genes']}" for sid in worst)
            + ". The report's coverage table lists every signature",
        )
    if all(m in scores.columns for ms in NEFTEL_STATES.values() for m in ms):
        neftel_states(adata, method=states_method, seed=seed, progress=progress)


def communicate_cells(
    adata: ad.AnnData, seed: int = 0, n_perms: int = 1000, progress: bool = False, **_: Any
) -> None:
    """Communication between cell types, over all cells and per patient.

    CellPhoneDB v5 is read from the data mirror or cache; where it cannot be had (a
    fresh machine offline), liana's bundled consensus resource (protein ligands only) is
    used instead, with a warning, and the resource used is recorded. Data where the test
    cannot run (a single cell type, too few resource genes) is recorded in
    ``.uns["neurosig"]["communication"]["not_run"]`` with the reason, and warned about.
    """
    check_n_perms(n_perms)
    _record(adata, seed=seed, n_perms=n_perms)
    if is_bulk(adata):
        return  # no cells, no cell-cell communication
    try:
        try:
            communicate(
                adata, "cell_type", sample_key="patient", n_perms=n_perms, seed=seed, progress=progress
            )
        except OfflineError as err:  # missing, never corrupt: a file failing its checksum raises
            notice(
                adata,
                f"CellPhoneDB v5 is not available ({err}); communication uses liana's consensus "
                "resource instead, which has no metabolite ligands (glutamate, noradrenaline, "
                "adenosine, PGE2), so the claims on them are not testable",
            )
            communicate(
                adata,
                "cell_type",
                sample_key="patient",
                n_perms=n_perms,
                seed=seed,
                resource="liana_consensus",
                progress=progress,
            )
    except InputDataError as err:
        notice(adata, f"communication not inferred: {err}")
        adata.uns[_keys.UNS][_keys.COMMUNICATION] = {"not_run": str(err)}


def test_cells(adata: ad.AnnData, seed: int = 0, **_: Any) -> None:
    """Test every claim of ``signatures/claims.yaml`` that applies to this data type (stored in ``.uns``).

    Single-cell data run the cell, patient, communication and paired levels; bulk cohorts
    the tumour and survival levels; multi-region data the region level.
    """
    test_claims(adata, seed=seed)


STAGES: dict[str, Callable[..., Any]] = {
    "harmonise": harmonise,
    "annotate": annotate_if_needed,
    "score": score_cells,
    "communicate": communicate_cells,
    "test": test_cells,
}


def fetch(*, dataset: str | None = None, input: str | Path | None = None) -> dict[str, Any]:
    """Stage *fetch*: download (or find in a mirror) and verify a dataset's files; a record of them.

    For a user h5ad, the file's path and sha256.
    """
    if input is not None:
        return {
            "input": str(input),
            "files": {Path(input).name: {"path": str(input), "sha256": file_hash(input)}},
        }
    dataset = dataset or default_dataset()
    entry = get_manifest().get(dataset)
    sha = {f["name"]: f.get("sha256", "") for f in entry["files"]}
    paths = fetch_dataset(dataset)
    return {
        "dataset": dataset,
        "files": {name: {"path": str(path), "sha256": sha.get(name, "")} for name, path in paths.items()},
    }


def run_stage(
    name: str, input: str | Path, output: str | Path, *, seed: int = 0, n_perms: int = 1000
) -> Path:
    """Run one stage on a harmonised h5ad and write the result atomically (the workflow's unit).

    Export is :func:`neurosig.export.write_run` on the last stage's h5ad.
    """
    if name not in STAGES or name == "harmonise":
        raise ValueError(f"Unknown stage {name!r}; stages that read an h5ad: {list(STAGES)[1:]}.")
    adata = ad.read_h5ad(input)
    STAGES[name](adata, seed=seed, n_perms=n_perms)
    with atomic_path(output) as tmp:
        adata.write_h5ad(tmp)
    return Path(output)
