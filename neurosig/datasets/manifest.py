"""The data manifest: one YAML registry of public glioma datasets, validated by a schema.

Like squidpy's dataset registry, the manifest is data and the loader is generic:
adding a dataset touches only ``data_manifest.yaml``. Each entry names its files
(URL, checksum, size), the parser for each, how the files combine into one AnnData
(``load``) and how the authors' labels map onto neurosig's schema (``schema``).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .._resources import manifest_path
from ..errors import ManifestError, UnknownDatasetError
from .parsers import PARSERS

_SCHEMA_PATH = Path(__file__).with_name("manifest_schema.json")

#: Verification states, from strongest to weakest.
VERIFICATION_STATES = {
    "verified_here": "every file's sha256 was computed on the real bytes in the offline mirror",
    "checksum_published": "a checksum published by the source or a third party is recorded; "
    "checked on first download",
    "unverified": "no checksum known; the sha256 of the first download is recorded "
    "(trust on first use) and checked on every later read",
}


@cache
def manifest_schema() -> dict[str, Any]:
    """The JSON schema that every manifest must follow."""
    return json.loads(_SCHEMA_PATH.read_text())


@dataclass(frozen=True)
class Manifest:
    """A validated manifest: ``datasets`` maps dataset id to its entry."""

    datasets: dict[str, dict[str, Any]]
    path: Path
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, dataset_id: str) -> dict[str, Any]:
        """Entry of ``dataset_id``; an unknown id raises with the nearest known ids."""
        try:
            return self.datasets[dataset_id]
        except KeyError:
            near = difflib.get_close_matches(dataset_id, list(self.datasets), n=3, cutoff=0.4)
            hint = f" Did you mean: {', '.join(near)}?" if near else ""
            raise UnknownDatasetError(
                f"Unknown dataset id {dataset_id!r}.{hint} Run `neurosig datasets list` to see all ids."
            ) from None

    def ids(self) -> list[str]:
        """Dataset ids in manifest order."""
        return list(self.datasets)

    def resource(self, resource_id: str) -> dict[str, Any]:
        """Entry of a ligand-receptor resource; an unknown id raises with the known ids."""
        try:
            return self.resources[resource_id]
        except KeyError:
            raise UnknownDatasetError(
                f"Unknown resource {resource_id!r}. Known resources: {', '.join(self.resources)}."
            ) from None


def validate_manifest(raw: Any, source: str = "manifest") -> dict[str, dict[str, Any]]:
    """Check ``raw`` against the schema and cross-references; return entries by id."""
    try:
        jsonschema.validate(raw, manifest_schema())
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ManifestError(f"{source}: invalid at {where}: {err.message}") from None
    out: dict[str, dict[str, Any]] = {}
    for entry in raw["datasets"]:
        did = entry["id"]
        if did in out:
            raise ManifestError(f"{source}: dataset id {did!r} appears twice; ids must be unique.")
        names = [f["name"] for f in entry["files"]]
        if len(set(names)) != len(names):
            raise ManifestError(f"{source}: {did}: file names must be unique within a dataset.")
        for f in entry["files"]:
            if "archive" in f and f["archive"] not in names:
                raise ManifestError(
                    f"{source}: {did}: file {f['name']!r} names archive {f['archive']!r}, "
                    "which is not one of this dataset's files."
                )
        for kind, steps in entry.get("load", {}).items():
            for step in steps:
                if step["parser"] not in PARSERS:
                    near = difflib.get_close_matches(step["parser"], list(PARSERS), n=3)
                    raise ManifestError(
                        f"{source}: {did}: unknown parser {step['parser']!r} in load.{kind}"
                        + (f"; did you mean {', '.join(near)}?" if near else "")
                        + f" Known parsers: {', '.join(sorted(PARSERS))}."
                    )
                missing = [v for v in step["files"].values() if v not in names]
                if missing:
                    raise ManifestError(
                        f"{source}: {did}: load.{kind} uses files {missing} not listed in files."
                    )
        if entry["verification"] == "verified_here" and not all("sha256" in f for f in entry["files"]):
            raise ManifestError(
                f"{source}: {did}: verification 'verified_here' needs a sha256 for every file."
            )
        out[did] = entry
    return out


def read_manifest(path: str | Path | None = None) -> Manifest:
    """Read and validate a manifest (the bundled one by default), with a safe YAML loader."""
    path = Path(path) if path is not None else manifest_path()
    with open(path) as fh:
        raw = yaml.safe_load(fh)
    datasets = validate_manifest(raw, source=str(path))
    resources: dict[str, dict[str, Any]] = {}
    for entry in raw.get("resources", []):
        if entry["id"] in resources or entry["id"] in datasets:
            raise ManifestError(f"{path}: resource id {entry['id']!r} appears twice; ids must be unique.")
        resources[entry["id"]] = entry
    return Manifest(datasets, path, resources)


@cache
def _bundled() -> Manifest:
    return read_manifest()


def get_manifest() -> Manifest:
    """The bundled manifest, read once per process."""
    return _bundled()
