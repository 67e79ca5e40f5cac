"""Output folders: checked first, owned by one run at a time, cleared of the run's old files."""

from __future__ import annotations

import fcntl
import json
import os

import pytest

from neurosig._outdir import LOCK_NAME, check_writable, own_folder
from neurosig.errors import InputDataError


def test_an_output_folder_under_a_file_is_refused(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputDataError, match="afile is a file"):
        check_writable(tmp_path / "afile" / "out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_an_unwritable_output_folder_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    with pytest.raises(InputDataError, match="not writable"):
        check_writable(ro / "out")


def test_a_folder_with_another_programs_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "summary.csv").write_text("an older neurosig run's")
    with pytest.raises(InputDataError, match=r"files neurosig did not write \(notes.txt\)"):
        with own_folder(tmp_path):
            pass
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "summary.csv").exists()


def test_an_interrupted_bulk_run_is_its_own_not_another_programs(tmp_path):
    """A bulk run killed after samples.h5ad, before provenance.json: the rerun clears it
    (samples.h5ad and the pooled sample_scores.* were refused as foreign files)."""
    for name in ("samples.h5ad", "evidence.csv", "sample_scores.csv", "sample_scores.parquet"):
        (tmp_path / name).write_bytes(b"partial")
    with own_folder(tmp_path) as out:
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]


def test_an_older_runs_files_are_removed_provenance_first(tmp_path):
    """Old interactions and forest plots stayed beside the new files, unlisted."""
    (tmp_path / "forest").mkdir()
    (tmp_path / "forest" / "C5.png").write_bytes(b"old")
    (tmp_path / "interactions.csv").write_text("old")
    (tmp_path / "extra_from_v0.csv").write_text("listed by the old provenance")
    outputs = {"forest/C5.png": "h", "interactions.csv": "h", "extra_from_v0.csv": "h"}
    (tmp_path / "provenance.json").write_text(json.dumps({"neurosig_version": "0", "outputs": outputs}))
    (tmp_path / "stages").mkdir()
    (tmp_path / "stages" / "scored.h5ad").write_bytes(b"workflow")
    with own_folder(tmp_path, keep=("stages/*",)) as out:
        assert sorted(p.name for p in out.rglob("*")) == [LOCK_NAME, "scored.h5ad", "stages"]
    assert not (tmp_path / LOCK_NAME).exists()


def test_two_runs_into_one_folder_at_once_are_refused(tmp_path):
    tmp_path.joinpath(LOCK_NAME).touch()
    with open(tmp_path / LOCK_NAME) as other:  # another process's open file holds the lock
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(InputDataError, match="Another neurosig run is writing into"):
            with own_folder(tmp_path):
                pass
    with own_folder(tmp_path), own_folder(tmp_path):  # one run may enter its own folder again
        pass


def test_a_run_that_fails_before_writing_leaves_no_folder(tmp_path):
    with pytest.raises(RuntimeError), own_folder(tmp_path / "new"):
        raise RuntimeError("harmonise failed")
    assert not (tmp_path / "new").exists()
