"""Small helpers shared by the text parsers."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO

QUOTES = "'\""


def open_text(path: Path) -> IO[str]:
    """Open a text file, transparently gunzipping by magic bytes, not by extension."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", newline="")
    return open(path, newline="")


def unquote(names):
    """Strip surrounding single or double quotes from a sequence of names."""
    return [str(n).strip().strip(QUOTES) for n in names]
