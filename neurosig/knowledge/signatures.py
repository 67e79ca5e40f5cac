"""The signature library: cited gene sets as data (``signatures/<theme>.yaml``).

A signature has an id, a name, a category, genes with weights (+1 for an ordinary set;
signed weights where a set has down-regulated genes, e.g. the calcium-permeable AMPAR
index GRIA1/3/4 up, GRIA2 down), its citation, where its list was read, the date, notes
on outdated symbols and the symbols renamed. Users can add their own as GMT, YAML or
a dict.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .._atomic import write_text
from .._resources import signatures_dir
from ..errors import InputDataError


@dataclass(frozen=True)
class Signature:
    """One gene set with weights and provenance."""

    id: str
    weights: dict[str, float]
    name: str = ""
    category: str = "user"
    theme: str = "user"
    citation: str = ""
    read_from: str = ""
    date: str = ""
    notes: str = ""
    renamed_symbols: dict[str, str] = field(default_factory=dict)

    @property
    def genes(self) -> list[str]:
        """The gene symbols, in order."""
        return list(self.weights)

    @property
    def signed(self) -> bool:
        """Whether any weight is negative."""
        return any(w < 0 for w in self.weights.values())

    def to_dict(self) -> dict[str, Any]:
        """The signature as plain data (weights when signed, else a gene list)."""
        d = {"id": self.id, "name": self.name, "category": self.category, "theme": self.theme}
        d["weights" if self.signed else "genes"] = dict(self.weights) if self.signed else self.genes
        d.update(citation=self.citation, read_from=self.read_from, date=self.date, notes=self.notes)
        return d


def _from_entry(e: Mapping[str, Any], theme: str) -> Signature:
    if "weights" in e:
        if not isinstance(e["weights"], Mapping):
            raise InputDataError(
                f"Signature {e.get('id')!r}: 'weights' must map each gene to a number "
                f"(e.g. {{CD274: 1, HLA-A: -1}}), not {type(e['weights']).__name__}."
            )
        weights = {}
        for g, w in e["weights"].items():
            if isinstance(w, bool) or not isinstance(w, int | float) or w != w:
                raise InputDataError(
                    f"Signature {e.get('id')!r}: the weight of {g} is {w!r}, not a number. Write "
                    "a number (1 for an up-regulated gene, -1 for a down-regulated one)."
                )
            weights[str(g)] = float(w)
    elif "genes" in e:
        genes = [str(g) for g in e["genes"]]
        dups = sorted({g for g in genes if genes.count(g) > 1})
        if dups:
            raise InputDataError(
                f"Signature {e.get('id')!r} lists genes twice: {dups}. Remove the duplicates."
            )
        weights = dict.fromkeys(genes, 1.0)
    else:
        raise InputDataError(f"Signature {e.get('id')!r} has neither 'genes' nor 'weights'.")
    if not weights:
        raise InputDataError(f"Signature {e.get('id')!r} has no genes.")
    return Signature(
        id=str(e["id"]),
        weights=weights,
        name=str(e.get("name", e["id"])),
        category=str(e.get("category", "user")),
        theme=theme,
        citation=str(e.get("citation", "")),
        read_from=str(e.get("read_from", "")),
        date=str(e.get("date", "")),
        notes=str(e.get("notes", "")),
        renamed_symbols=dict(e.get("renamed_symbols", {}) or {}),
    )


@cache
def library() -> dict[str, Signature]:
    """Every bundled signature, by id (themes: one YAML file each under ``signatures/``)."""
    out: dict[str, Signature] = {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster
    for path in sorted(signatures_dir().glob("*.yaml")):
        doc = yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - a safe loader
        if not isinstance(doc, dict) or "signatures" not in doc:
            continue
        for e in doc["signatures"]:
            sig = _from_entry(e, doc.get("theme", path.stem))
            if sig.id in out:
                raise InputDataError(f"Signature id {sig.id!r} appears twice in the library ({path.name}).")
            out[sig.id] = sig
    return out


def read_gmt(path: str | Path) -> list[Signature]:
    """Signatures from a GMT file (name, description, genes...; tab-separated; names unique)."""
    sigs: list[Signature] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 3:
            raise InputDataError(
                f"{path}: GMT lines need a name, a description and genes; got {line[:60]!r}."
            )
        if parts[0] in seen:
            raise InputDataError(
                f"{path}: set name {parts[0]!r} appears on lines {seen[parts[0]]} and {lineno}; "
                "scores are stored by set name, so each set needs its own. Rename or merge them."
            )
        seen[parts[0]] = lineno
        sigs.append(
            _from_entry(
                {
                    "id": parts[0],
                    "name": parts[0],
                    "genes": [g for g in parts[2:] if g],
                    "read_from": str(path),
                    "notes": parts[1],
                },
                "user",
            )
        )
    return sigs


def read_yaml(path: str | Path) -> list[Signature]:
    """Signatures from YAML: the library layout (``signatures: [...]``) or ``{id: [genes]}``."""
    doc = yaml.safe_load(Path(path).read_text())
    if isinstance(doc, dict) and "signatures" in doc:
        sigs = [_from_entry(e, doc.get("theme", "user")) for e in doc["signatures"]]
        ids = [s.id for s in sigs]
        dups = sorted({i for i in ids if ids.count(i) > 1})
        if dups:
            raise InputDataError(f"{path}: signature ids {dups} appear twice; give each set its own id.")
        return sigs
    if isinstance(doc, dict):
        return from_dict(doc)
    raise InputDataError(f"{path}: expected a mapping of signatures.")


def from_dict(d: Mapping[str, Iterable[str] | Mapping[str, float]]) -> list[Signature]:
    """Signatures from ``{id: [genes]}`` or ``{id: {gene: weight}}``."""
    out = []
    for sid, genes in d.items():
        key = "weights" if isinstance(genes, Mapping) else "genes"
        out.append(_from_entry({"id": sid, key: genes if key == "weights" else list(genes)}, "user"))
    return out


def resolve(signatures: str | Path | Iterable[str | Signature] | Mapping | None = None) -> list[Signature]:
    """Turn the user's choice into Signature objects.

    ``None``: the whole library; a GMT or YAML path; a dict; or ids / Signature objects
    (an unknown id raises with the nearest known ids).
    """
    lib = library()
    if signatures is None:
        return list(lib.values())
    if isinstance(signatures, Mapping):
        return from_dict(signatures)
    if isinstance(signatures, str | Path) and Path(signatures).suffix in (".gmt", ".yaml", ".yml"):
        path = Path(signatures)
        if not path.is_file():
            raise InputDataError(f"Signature file {path} does not exist.")
        return read_gmt(path) if path.suffix == ".gmt" else read_yaml(path)
    if isinstance(signatures, str):
        signatures = [signatures]
    out = []
    for s in signatures:
        if isinstance(s, Signature):
            out.append(s)
        elif s in lib:
            out.append(lib[s])
        else:
            near = difflib.get_close_matches(str(s), list(lib), n=3, cutoff=0.5)
            raise InputDataError(
                f"Unknown signature id {s!r}."
                + (f" Did you mean: {', '.join(near)}?" if near else "")
                + " Run `neurosig signatures list`."
            )
    return out


def export_gmt(path: str | Path, signatures: Iterable[Signature] | None = None) -> Path:
    """Write signatures as GMT (genes with positive weight; signed sets lose their signs)."""
    sigs = list(signatures) if signatures is not None else list(library().values())
    lines = [
        "\t".join(
            [s.id, (s.citation or s.name).replace("\t", " ")] + [g for g, w in s.weights.items() if w > 0]
        )
        for s in sigs
    ]
    return write_text(path, "\n".join(lines) + "\n")
