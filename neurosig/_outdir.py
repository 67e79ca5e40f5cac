"""Output folders a run owns: checked before any work, locked, cleared of its own old files.

A run writes into a folder that is empty, or that holds only what neurosig writes (an
earlier run's files, listed in its ``provenance.json``, or files by neurosig's own
names). Anything else (a user's notes, another program's results) makes the run refuse
the folder before it starts, so that nothing of the user's is deleted and no folder
mixes two programs' files. While a run writes, it holds a lock (``.neurosig.lock``,
released by the operating system when the process dies, removed at the end), so two
runs into one folder at once cannot interleave. The old ``provenance.json`` is removed
first and the new one written last: a folder whose ``provenance.json`` exists is
complete and holds exactly the files it lists.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import InputDataError

#: The lock file inside a folder being written.
LOCK_NAME = ".neurosig.lock"

#: The harmonised matrix of an atlas run, on disk while the run reads it (removed at its end).
MATRIX_FILE = ".neurosig-matrix.h5ad"

#: Paths (relative, ``fnmatch`` patterns) that neurosig writes into a run folder.
OWN_PATTERNS = (
    "provenance.json",
    "cells.h5ad",
    "samples.h5ad",
    "sample_scores.csv",
    "sample_scores.parquet",
    "sample_scores.schema.json",
    "report.html",
    "summary.csv",
    "qc.csv",
    "scores_by_patient.csv",
    "patient_scores.csv",
    "patient_scores.parquet",
    "patient_scores.schema.json",
    "evidence.csv",
    "evidence_per_patient.csv",
    "interactions.csv",
    "interactions_by_patient.csv",
    "cp_ampar*.csv",
    "communication.json",
    "communication_dotplot.png",
    "axis_diagram.png",
    "forest/*.png",
    MATRIX_FILE,
    ".*.part",  # a temporary file of an interrupted write (neurosig._atomic)
    LOCK_NAME,
)

_HELD: dict[Path, int] = {}  # folders this process holds the lock of, and how many times


def check_writable(out: str | Path) -> Path:
    """Refuse, before any work, an output folder that cannot be created or written.

    Creates ``out`` (and its parents) and writes and removes a probe file in it.
    """
    out = Path(out)
    for parent in [out, *out.parents]:
        if parent.exists() and not parent.is_dir():
            raise InputDataError(
                f"Output folder {out} cannot be created: {parent} is a file. Choose another --out."
            )
        if parent.exists():
            break
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".neurosig-probe.", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise InputDataError(
            f"Output folder {out} is not writable ({err.strerror}). Choose a folder you can write "
            "to with --out, or fix its permissions."
        ) from None
    return out


def _files(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() or p.is_symlink())


def _listed(out: Path) -> set[str]:
    """Files the folder's ``provenance.json`` lists (empty when it has none or is not neurosig's)."""
    try:
        record = json.loads((out / "provenance.json").read_text())
    except (OSError, ValueError):
        return set()
    if not isinstance(record, dict) or "neurosig_version" not in record:
        return set()
    return set(record.get("outputs", {})) | {"provenance.json"}


def foreign_files(out: str | Path, keep: Iterable[str] = ()) -> list[str]:
    """Files in ``out`` that neurosig did not write (``keep``: patterns the caller owns too)."""
    out = Path(out)
    if not out.is_dir():
        return []
    listed = _listed(out)
    patterns = (*OWN_PATTERNS, *keep)
    return [f for f in _files(out) if f not in listed and not any(fnmatch.fnmatch(f, p) for p in patterns)]


def clear_own(out: str | Path, keep: Iterable[str] = ()) -> list[str]:
    """Remove an earlier run's files (``provenance.json`` first); return what was removed.

    ``keep`` patterns (e.g. the workflow's ``stages/*``) are left alone; so is the lock.
    """
    out = Path(out)
    keep = tuple(keep)
    listed = _listed(out)
    removed = []
    order = sorted(_files(out), key=lambda f: f != "provenance.json")  # the completeness mark first
    for f in order:
        if f == LOCK_NAME or any(fnmatch.fnmatch(f, p) for p in keep):
            continue
        if f in listed or any(fnmatch.fnmatch(f, p) for p in OWN_PATTERNS):
            (out / f).unlink()
            removed.append(f)
    for d in sorted((p for p in out.rglob("*") if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()  # only empty folders (forest/)
    return removed


@contextlib.contextmanager
def own_folder(out: str | Path, keep: Iterable[str] = ()) -> Iterator[Path]:
    """Hold ``out`` for one run: refuse foreign files, take the lock, clear the old outputs.

    Re-entrant within one process (``neurosig run`` holds the folder from the start and
    its export step enters again). ``keep``: patterns of files in the folder that belong to
    the caller and stay (neither refused nor removed).
    """
    created = not Path(out).exists()
    out = check_writable(out).resolve()
    if out in _HELD:
        _HELD[out] += 1
        try:
            yield out
        finally:
            _HELD[out] -= 1
        return
    keep = tuple(keep)
    foreign = foreign_files(out, keep)
    if foreign:
        raise InputDataError(
            f"Output folder {out} holds files neurosig did not write ({', '.join(foreign[:5])}"
            f"{', ...' if len(foreign) > 5 else ''}). A run owns its folder and would mix its "
            "results with them: choose an empty or new folder with --out, or move those files."
        )
    lock_path = out / LOCK_NAME
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputDataError(
                f"Another neurosig run is writing into {out}; wait for it to finish or choose another --out."
            ) from None
        try:  # the previous holder may have removed the file between our open and lock
            same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    _HELD[out] = 1
    try:
        clear_own(out, keep)
        yield out
    finally:
        del _HELD[out]
        with contextlib.suppress(FileNotFoundError):
            lock_path.unlink()
        os.close(fd)
        if created:  # a run that failed before writing anything leaves no empty folder behind
            with contextlib.suppress(OSError):
                out.rmdir()
