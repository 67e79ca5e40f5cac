"""Shared fixtures: the offline mirror (../shared/data), an isolated cache, tiny files."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_env_mirror = os.environ.get("NEUROSIG_MIRRORS", "").split(os.pathsep)[0]
MIRROR = Path(_env_mirror) if _env_mirror else REPO.parent / "shared" / "data"
HAS_MIRROR = (MIRROR / "tirosh2016_oligodendroglioma").is_dir()

needs_mirror = pytest.mark.skipif(
    not HAS_MIRROR, reason=f"offline mirror not found at {MIRROR} (set NEUROSIG_MIRRORS)"
)


@pytest.fixture(scope="session", autouse=True)
def offline_session(tmp_path_factory):
    """Session-wide defaults, in place before module-scoped fixtures load data."""
    saved = {k: os.environ.get(k) for k in ("NEUROSIG_CACHE", "NEUROSIG_MIRRORS", "NEUROSIG_OFFLINE")}
    os.environ["NEUROSIG_CACHE"] = str(tmp_path_factory.mktemp("session_cache"))
    os.environ["NEUROSIG_MIRRORS"] = str(MIRROR) if HAS_MIRROR else ""
    os.environ["NEUROSIG_OFFLINE"] = "1"
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets an empty cache, the real mirror, and no network."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("NEUROSIG_CACHE", str(cache))
    monkeypatch.setenv("NEUROSIG_MIRRORS", str(MIRROR) if HAS_MIRROR else "")
    monkeypatch.setenv("NEUROSIG_OFFLINE", "1")
    return cache


@pytest.fixture
def mirror() -> Path:
    if not HAS_MIRROR:
        pytest.skip(f"offline mirror not found at {MIRROR}")
    return MIRROR


def write_gz(path: Path, text: str) -> Path:
    with gzip.open(path, "wt", newline="") as fh:
        fh.write(text)
    return path


#: Shuffles of the communication test in end-to-end runs (the default 1,000 is slower).
E2E_PERMS = 200


@pytest.fixture(scope="session")
def default_run(tmp_path_factory, offline_session) -> Path:
    """``neurosig run`` on the default dataset once per session (outputs shared by tests)."""
    from neurosig.pipeline import run

    out = tmp_path_factory.mktemp("default_run")
    run(out, seed=0, n_perms=E2E_PERMS, progress=False)
    return out
