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

import logging
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anndata as ad
import pandas as pd

from . import _keys
from ._atomic import atomic_path
from ._provenance import file_hash
from ._scale import keep_matrix
from .annotate import NEFTEL_STATES, annotate, needs_annotation, neftel_states
from .datasets import default_dataset, fetch_dataset, get_manifest, load, load_h5ad
from .datasets.parsers.h5ad import h5ad_n_obs
from .errors import FetchError, InputDataError
from .export import write_run
from .tl import communicate, score, test_claims

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
    write_cells: bool | None = True,
) -> ad.AnnData:
    """Stage *harmonise*: a manifest dataset or a user h5ad in neurosig's schema.

    The source (dataset id, or path and sha256 of the h5ad) is recorded in
    ``.uns["neurosig"]["source"]``. ``name`` names a user h5ad's dataset (default: the
    file's stem). ``write_cells`` (as :func:`run`'s; default ``True``: keep everything)
    decides whether a user h5ad's counts layer is kept: ``None`` keeps it up to 100,000
    cells, and above (an atlas) holds one matrix instead of two (``neurosig._scale``).
    """
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
            dataset_id=name or Path(input).stem,
            keep_counts=keep_matrix(h5ad_n_obs(input), write_cells),
        )
        source: dict[str, Any] = {"input": str(input), "sha256": file_hash(input)}
    else:
        dataset = dataset or default_dataset()
        adata = load(dataset, progress=progress)
        source = {"dataset": dataset}
    adata.uns[_keys.UNS][_keys.SOURCE] = source
    adata.uns[_keys.UNS][_keys.RUN_PARAMETERS] = {
        "dataset": dataset or "",
        "input": str(input or ""),
        "patient_key": patient_key or "",
        "label_key": label_key or "",
        "sample_key": sample_key or "",
        "value_type": value_type or "",
    }
    return adata


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
    write_cells: bool | None = None,
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
        Seed of annotation, control-gene sampling in scoring and the communication shuffles.
    n_perms
        Label shuffles of the communication test.
    progress
        Print each stage, its time and where the results are to standard error.
    write_cells
        Whether ``cells.h5ad`` holds the expression matrix (default: up to 100,000 cells;
        above, every per-cell result without it; see :func:`neurosig.export.cells_for_export`).

    Returns
    -------
    Paths of the files written, by name.
    """
    start = time.perf_counter()
    say = _progress(progress, len(STAGES) + 1)
    with say("harmonise"):
        adata = harmonise(
            dataset=dataset,
            input=input,
            patient_key=patient_key,
            label_key=label_key,
            sample_key=sample_key,
            value_type=value_type,
            progress=progress,
            write_cells=write_cells,
        )
    for name in list(STAGES)[1:]:
        with say(name):
            STAGES[name](adata, seed=seed, n_perms=n_perms, progress=progress)
    with say("export"):
        written = write_run(adata, out, started=start, write_cells=write_cells)
    if progress:
        print(f"neurosig: {len(written)} files in {Path(out).resolve()} (open report.html)", file=sys.stderr)
    return written


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


def annotate_if_needed(adata: ad.AnnData, seed: int = 0, **_: Any) -> None:
    """Annotate by markers and copy number when some cells lack author labels.

    Without a normal reference (or gene positions) the copy-number step is skipped with a
    warning and recorded; cell types still come from markers.
    """
    _record(adata, seed=seed)
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
        adata.uns[_keys.UNS][_keys.ANNOTATION]["cnv_skipped"] = str(err)


def score_cells(
    adata: ad.AnnData, seed: int = 0, progress: bool = False, states_method: str = "tirosh", **_: Any
) -> None:
    """Score the whole library on ``X``; add Neftel states when the meta-modules score.

    The library is scored with ``score_genes`` (``.obsm["neurosig_score_genes"]``). The
    states' meta-modules are scored again as the authors scored them: ``states_method``
    (default ``tirosh``: 30 bins, 100 controls per gene, seeded by ``seed``) on
    ``log2(TPM/10+1)`` of ``.layers["tpm"]``, or on ``X`` as it is without a TPM layer
    (``.obsm["neftel_modules"]``; recorded in ``.uns["neurosig"]["neftel_states"]``).
    """
    _record(adata, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # refused low-coverage sets are recorded in .uns
        scores = score(adata, None, method="score_genes", seed=seed, progress=progress)
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
    _record(adata, seed=seed, n_perms=n_perms)
    try:
        try:
            communicate(
                adata, "cell_type", sample_key="patient", n_perms=n_perms, seed=seed, progress=progress
            )
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
                progress=progress,
            )
    except InputDataError as err:
        warnings.warn(f"communication not inferred: {err}", UserWarning, stacklevel=2)
        adata.uns[_keys.UNS][_keys.COMMUNICATION] = {"not_run": str(err)}


def test_cells(adata: ad.AnnData, seed: int = 0, **_: Any) -> None:
    """Test every claim of ``signatures/claims.yaml`` on this dataset (stored in ``.uns``)."""
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
