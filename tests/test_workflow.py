"""The Snakemake workflow parses and plans one run per configured dataset."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO


def test_snakefile_dry_run(tmp_path):
    local = Path(sys.executable).parent / "snakemake"
    exe = str(local) if local.exists() else shutil.which("snakemake")
    if exe is None:
        pytest.skip("snakemake not installed (pip install 'neurosig[workflow]')")
    result = subprocess.run(
        [
            exe,
            "-s",
            "workflows/Snakefile",
            "--configfile",
            "workflows/config.yaml",
            "-n",
            "--config",
            f"results={tmp_path}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    planned = result.stdout
    assert "run_dataset" in planned and "pool_summaries" in planned and "pool_evidence" in planned
    for dataset in ("tirosh2016_oligodendroglioma", "neftel2019_mgh136", "darmanis2015_brain"):
        assert f"{tmp_path}/{dataset}/cells.h5ad" in planned
