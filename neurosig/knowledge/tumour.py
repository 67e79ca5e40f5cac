"""Tumour-level classifiers as data: ESTIMATE and the Wang 2017 GBM subtype sets.

Read from ``signatures/tumour_classifiers.yaml`` (built by
``scripts/build_tumour_classifiers.py`` from the published files, each with its citation):
ESTIMATE's stromal and immune signatures and its Affymetrix purity formula (Yoshihara
2013), and the Proneural, Classical and Mesenchymal sets with their ssGSEA parameters
(Wang 2017, as the authors' ``.mod`` files give them).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from .._resources import signatures_dir
from .signatures import Signature, _from_entry

FILE = "tumour_classifiers.yaml"


@cache
def tumour_classifiers() -> dict[str, Any]:
    """The whole record (``estimate`` and ``wang2017`` sections)."""
    with open(signatures_dir() / FILE) as fh:
        return yaml.safe_load(fh)


def estimate_signatures() -> list[Signature]:
    """ESTIMATE's stromal and immune signatures, with their citation."""
    rec = tumour_classifiers()["estimate"]
    return [
        _from_entry({"id": f"ESTIMATE_{k}", "genes": v, "citation": rec["citation"]}, "tumour_classifiers")
        for k, v in rec["signatures"].items()
    ]


def wang2017_signatures() -> list[Signature]:
    """The Wang 2017 subtype sets (symbols as published in 2015), in the authors' column order."""
    rec = tumour_classifiers()["wang2017"]
    return [
        _from_entry({"id": k, "genes": v["genes"], "citation": rec["citation"]}, "tumour_classifiers")
        for k, v in rec["subtypes"].items()
    ]
