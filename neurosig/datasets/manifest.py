"""The data manifest: one YAML registry of public glioma datasets, validated by a schema.

Like squidpy's dataset registry, the manifest is data and the loader is generic:
adding a dataset touches only ``data_manifest.yaml``. Each entry names its files
(URL, checksum, size), the parser for each, how the files combine into one AnnData
(``load``) and how the authors' labels map onto neurosig's schema (``schema``).
"""

from __future__ import annotations

import difflib
import json
import os
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

#: Environment variable naming users' own manifest files (separated by ``os.pathsep``).
MANIFEST_ENV = "NEUROSIG_MANIFEST"

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
    sources: dict[str, Path] = field(default_factory=dict)

    def source(self, dataset_id: str) -> Path:
        """The manifest file that defines ``dataset_id`` (the bundled one or a user's)."""
        return self.sources.get(dataset_id, self.path)

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
    try:
        with open(path) as fh:
            raw = yaml.safe_load(fh)
    except FileNotFoundError:
        raise ManifestError(f"Manifest file {path} does not exist; check the path.") from None
    except IsADirectoryError:
        raise ManifestError(f"Manifest {path} is a directory; give the YAML file itself.") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ManifestError(
            f"Manifest file {path} is not valid YAML{where}: {getattr(err, 'problem', err)}. "
            "Fix the file (data_manifest.yaml in the package shows the layout)."
        ) from None
    except UnicodeDecodeError:
        raise ManifestError(f"Manifest file {path} is not UTF-8 text; save it as a YAML text file.") from None
    if not isinstance(raw, dict):
        raise ManifestError(
            f"Manifest file {path} must be a YAML mapping with `version:` and `datasets:` "
            f"(got {type(raw).__name__})."
        )
    datasets = validate_manifest(raw, source=str(path))
    resources: dict[str, dict[str, Any]] = {}
    for entry in raw.get("resources", []):
        if entry["id"] in resources or entry["id"] in datasets:
            raise ManifestError(f"{path}: resource id {entry['id']!r} appears twice; ids must be unique.")
        resources[entry["id"]] = entry
    return Manifest(datasets, path, resources, dict.fromkeys(datasets, path))


@cache
def _bundled() -> Manifest:
    return read_manifest()


def user_manifest_paths(value: str | None = None) -> list[Path]:
    """The user manifest files named by ``NEUROSIG_MANIFEST`` (or ``value``), in order."""
    value = os.environ.get(MANIFEST_ENV, "") if value is None else value
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]


def combine(bundled: Manifest, extra: list[Manifest]) -> Manifest:
    """The bundled manifest plus users' own: same schema, and no id may be defined twice."""
    datasets, resources, sources = dict(bundled.datasets), dict(bundled.resources), dict(bundled.sources)
    owner = {i: bundled.path for i in [*datasets, *resources]}
    for m in extra:
        for kind, items in (("dataset", m.datasets), ("resource", m.resources)):
            for i, entry in items.items():
                if i in owner:
                    where = "the bundled manifest" if owner[i] == bundled.path else str(owner[i])
                    raise ManifestError(
                        f"{m.path}: {kind} id {i!r} is already defined in {where}; ids must be unique. "
                        f"Rename it in {m.path} (e.g. {i}_mine)."
                    )
                owner[i] = m.path
                if kind == "dataset":
                    datasets[i] = entry
                    sources[i] = m.path
                else:
                    resources[i] = entry
    return Manifest(datasets, bundled.path, resources, sources)


@cache
def _with_user(value: str) -> Manifest:
    extra = []
    for path in user_manifest_paths(value):
        if not path.is_file():
            raise ManifestError(
                f"{MANIFEST_ENV} names {path}, which is not a file; fix the path or unset {MANIFEST_ENV}."
            )
        extra.append(read_manifest(path))
    return combine(_bundled(), extra)


def add_user_manifests(paths: list[str | Path]) -> None:
    """Add manifest files for this process and its children (prepended to ``NEUROSIG_MANIFEST``).

    The CLI's ``--manifest FILE`` calls this, so that workflow steps run in subprocesses
    see the same datasets. Each file is read and validated at once.
    """
    new = [str(Path(p).expanduser().resolve()) for p in paths]
    old = [str(p) for p in user_manifest_paths()]
    value = os.pathsep.join(dict.fromkeys([*new, *old]))
    _with_user(value)  # validate now: a bad file fails before anything runs
    os.environ[MANIFEST_ENV] = value


def get_manifest() -> Manifest:
    """The bundled manifest plus the users' own (``NEUROSIG_MANIFEST``), read once per value."""
    value = os.environ.get(MANIFEST_ENV, "")
    if not value.strip():
        return _bundled()
    return _with_user(value)
