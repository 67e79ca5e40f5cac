"""Atomic writes: nothing half-written, and the file mode a plain open() would give."""

from __future__ import annotations

import os
import stat

import pytest

from neurosig._atomic import write_text


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_files_get_the_users_umask_not_0600(tmp_path, umask):
    """mkstemp creates 0600: every result was unreadable by the user's group."""
    old = os.umask(umask)
    try:
        path = write_text(tmp_path / "evidence.csv", "a,b\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["evidence.csv"]
