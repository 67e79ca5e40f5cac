"""The claims registry: ``signatures/claims.yaml`` read and checked.

A claim names its variables, population, level and expected direction as data (see the
file's header); this module only validates the names against the signature library,
the cell-type vocabulary and the communication axis, so that a typo fails at once with
the nearest known names.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from .._resources import signatures_dir
from ..errors import InputDataError
from .axis import load_axis
from .signatures import library
from .vocabulary import vocabulary as cell_type_terms

LEVELS = ("cell", "patient", "communication", "paired", "tumour", "region", "survival")
EXPECTED = ("positive", "negative", "present")
VARIABLE_KINDS = ("signature", "genes", "gene", "fraction", "interaction", "obs", "survival")


def _near(name: str, known) -> str:
    near = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    return f" Did you mean: {', '.join(near)}?" if near else ""


def _check_variable(cid: str, side: str, var: dict, level: str, lib, vocabulary, axis) -> None:
    kinds = [k for k in VARIABLE_KINDS if k in var]
    if len(kinds) != 1:
        raise InputDataError(
            f"claims: {cid}.{side} must name exactly one of {', '.join(VARIABLE_KINDS)} (got {sorted(var)})."
        )
    kind = kinds[0]
    if kind == "signature" and var["signature"] not in lib:
        raise InputDataError(
            f"claims: {cid}.{side} names unknown signature {var['signature']!r}."
            + _near(var["signature"], lib)
            + " Run `neurosig signatures list`."
        )
    types = var.get("fraction", []) + var.get("population", [])
    unknown = [t for t in types if t not in vocabulary]
    if unknown:
        raise InputDataError(
            f"claims: {cid}.{side} names unknown cell types {unknown}."
            + _near(unknown[0], vocabulary)
            + " Use terms of signatures/cell_types.yaml."
        )
    if kind == "interaction" and var["interaction"] not in axis:
        raise InputDataError(f"claims: {cid}.{side} names unknown axis claim {var['interaction']!r}.")
    if level in ("patient", "paired") and kind in ("signature", "genes", "gene") and "population" not in var:
        raise InputDataError(
            f"claims: {cid}.{side} is a {level}-level {kind} and needs `population` (cell types averaged)."
        )
    if kind == "survival" and var["survival"] != "overall":
        raise InputDataError(f"claims: {cid}.{side}: survival must be 'overall' (os_months, os_event).")
    if level in ("cell", "patient") and kind in ("obs", "survival"):
        raise InputDataError(
            f"claims: {cid}.{side}: a {kind} variable needs one row per sample (bulk levels)."
        )
    if level == "cell" and kind in ("fraction", "interaction"):
        raise InputDataError(f"claims: {cid}.{side}: a {kind} has one value per patient; use level: patient.")


def _check_paired(source: str, cid: str, c: dict, lib, vocabulary, axis) -> None:
    """A paired claim: two distinct ``regions`` (A - B) and one outcome ``y`` (no ``x``)."""
    regions = c.get("regions")
    if not (
        isinstance(regions, list) and len(regions) == 2 and all(isinstance(r, str) and r for r in regions)
    ):
        raise InputDataError(
            f"{source}: {cid}.regions must list two region labels of .obs['region'], "
            f"first minus second (e.g. [HFC, LFC]); got {regions!r}."
        )
    if regions[0] == regions[1]:
        raise InputDataError(
            f"{source}: {cid}.regions names {regions[0]!r} twice; give two different regions."
        )
    if "x" in c:
        raise InputDataError(
            f"{source}: {cid} is a paired claim: the regions are its x; remove `x` and keep `y`."
        )
    if "y" not in c:
        raise InputDataError(f"{source}: {cid} needs `y` (a variable compared between the regions).")
    if "interaction" in c["y"]:
        raise InputDataError(
            f"{source}: {cid}.y: a paired claim compares a score or a fraction, not an interaction."
        )
    _check_variable(cid, "y", c["y"], "paired", lib, vocabulary, axis)


def validate_claims(
    doc: dict[str, Any], source: str = "claims", levels: tuple[str, ...] = LEVELS
) -> dict[str, Any]:
    """Check a claims document; return it. Unknown names raise with the nearest known ones."""
    lib = library()
    vocabulary = set(cell_type_terms())
    axis = load_axis()["claims"]
    if "claims" not in doc or not isinstance(doc["claims"], dict):
        raise InputDataError(f"{source}: needs a `claims:` mapping of claim id -> definition.")
    for cid, c in doc["claims"].items():
        level = c.get("level")
        if level not in levels:
            raise InputDataError(f"{source}: {cid}.level must be one of {tuple(levels)} (got {level!r}).")
        if c.get("expected") not in EXPECTED:
            raise InputDataError(f"{source}: {cid}.expected must be one of {EXPECTED}.")
        if c.get("testable", True) is False:
            if not c.get("reason"):
                raise InputDataError(f"{source}: {cid} is marked testable: false and needs a `reason`.")
            continue
        if level == "communication":
            if c.get("axis") not in axis:
                raise InputDataError(f"{source}: {cid}.axis must name a claim of communication_axis.yaml.")
            continue
        if level == "paired":
            _check_paired(source, cid, c, lib, vocabulary, axis)
            continue
        for side in ("x", "y"):
            if side not in c:
                raise InputDataError(f"{source}: {cid} needs `{side}` (a variable).")
            _check_variable(cid, side, c[side], level, lib, vocabulary, axis)
        if level == "cell":
            unknown = [t for t in c.get("population", []) if t not in vocabulary]
            if not c.get("population") or unknown:
                raise InputDataError(
                    f"{source}: {cid} (cell level) needs `population` of vocabulary terms "
                    f"(unknown: {unknown})."
                )
    return doc


def load_claims(path: str | Path | None = None, levels: tuple[str, ...] = LEVELS) -> dict[str, Any]:
    """The bundled claims (``signatures/claims.yaml``) or a user file, validated.

    ``levels`` are the claim levels that exist (the claims stage passes its registry's).
    """
    path = Path(path) if path is not None else signatures_dir() / "claims.yaml"
    with open(path) as fh:
        doc = yaml.safe_load(fh)
    return validate_claims(doc, source=str(path), levels=levels)
