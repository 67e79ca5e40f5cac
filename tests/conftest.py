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


@pytest.fixture(scope="session")
def published_h5ad(tmp_path_factory, offline_session) -> Path:
    """A user's h5ad of a published study: 100 cells x 2,000 genes, dense log2(TPM/10+1).

    Built from the Tirosh et al. 2016 oligodendroglioma cells shipped in the infercnvpy
    wheel, laid out as a user who read GEO's GSE70630 processed table would hold it: the
    values on the table's own scale, log2(TPM/10+1) (the paper's Methods; GEO's file
    header says "log2(TPM/10+1)"), in a dense float32 X (``sc.read_text`` gives a dense
    matrix), the donor in ``obs["donor"]`` and the authors' labels in ``obs["celltype"]``
    as published (``malignant_MGH36``, ``Oligodendrocytes (non-malignant)``,
    ``Microglia/Macrophage``: the malignant ones name no vocabulary term). 100 cells drawn
    with seed 0; the 2,000 genes most expressed on average, in their original order.
    """
    import anndata as ad
    import numpy as np
    import pandas as pd

    from neurosig.datasets import load

    src = load("tirosh2016_oligodendroglioma_infercnvpy")
    rng = np.random.default_rng(0)
    cells = np.sort(rng.choice(src.n_obs, 100, replace=False))
    tpm = src.layers["tpm"][cells].toarray()
    genes = np.sort(np.argsort(-tpm.mean(axis=0), kind="stable")[:2000])
    obs = pd.DataFrame(
        {
            "donor": src.obs["patient"].astype(str).to_numpy()[cells],
            "celltype": src.obs["cell_type_author"].astype(str).to_numpy()[cells],
        },
        index=src.obs_names[cells],
    )
    user = ad.AnnData(
        X=np.log2(tpm[:, genes] / 10 + 1).astype(np.float32),
        obs=obs,
        var=pd.DataFrame(index=src.var_names[genes]),
    )
    path = tmp_path_factory.mktemp("published") / "tirosh_user.h5ad"
    user.write_h5ad(path)
    return path
