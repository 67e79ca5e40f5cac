"""The harmonised cell-type vocabulary (``signatures/cell_types.yaml``) and label mapping."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import yaml

from .._resources import signatures_dir


@cache
def vocabulary() -> dict[str, dict[str, Any]]:
    """Terms of the vocabulary with their lineage, default malignancy and synonyms."""
    data = yaml.safe_load((signatures_dir() / "cell_types.yaml").read_text())
    return data["terms"]


def _norm(label: str) -> str:
    s = re.sub(r"[^a-z0-9+/]+", " ", label.lower()).strip()
    return s[:-1] if s.endswith("s") and len(s) > 3 else s


@cache
def _synonym_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for term, spec in vocabulary().items():
        for syn in [term, *spec["synonyms"]]:
            index.setdefault(_norm(str(syn)), term)
    return index


def map_label(
    label: Any,
    exact: dict[str, str] | None = None,
    patterns: list[tuple[str, str]] | None = None,
) -> str | None:
    """Vocabulary term for an author label, or None when nothing matches.

    Order: the dataset's exact map, its regex patterns, then the vocabulary synonyms.
    A missing label (None/NaN) maps to ``unknown``.
    """
    if label is None or (isinstance(label, float) and label != label):
        return "unknown"
    label = str(label)
    if exact and label in exact:
        return exact[label]
    for pattern, term in patterns or []:
        if re.search(pattern, label):
            return term
    return _synonym_index().get(_norm(label))


def lineage_of(term: str) -> str:
    """Lineage of a vocabulary term."""
    return vocabulary()[term]["lineage"]
