"""Public glioma datasets: manifest, verified fetching, parsers and the harmonised schema.

>>> import neurosig as ns
>>> ns.datasets.list_datasets()  # doctest: +SKIP
>>> adata = ns.datasets.load("tirosh2016_oligodendroglioma")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .fetch import available_offline, cache_dir, fetch_file, locate_file, mirror_dirs
from .harmonise import VALUE_TYPES, harmonise
from .load import default_dataset, load, load_h5ad, needed_files
from .manifest import VERIFICATION_STATES, Manifest, get_manifest, read_manifest


def list_datasets(manifest: Manifest | None = None) -> pd.DataFrame:
    """One row per dataset: id, study, technology, modality, value type, verification, offline availability.

    ``manual_download`` names the page(s) to download files from by hand (portal
    sign-in), empty when every file is fetched automatically.
    """
    manifest = manifest or get_manifest()
    rows = []
    for e in manifest.datasets.values():
        rows.append(
            {
                "id": e["id"],
                "title": e["title"],
                "doi": e["citation"].get("doi", ""),
                "accessions": ",".join(e["accessions"]),
                "disease": e["disease"],
                "technology": e["technology"],
                "modality": e.get("modality", "single_cell"),
                "value_type": e["value_type"],
                "n_cells": e.get("n_cells"),
                "n_samples": e.get("n_samples"),
                "n_patients": e.get("n_patients"),
                "verification": e["verification"],
                "available_offline": available_offline(e, needed_files(e)),
                "manual_download": ", ".join(
                    sorted({f["download_page"] for f in e["files"] if "download_page" in f})
                ),
            }
        )
    table = pd.DataFrame(rows)
    for col in ("n_cells", "n_samples", "n_patients"):
        table[col] = table[col].astype("Int64")
    return table


def info(dataset_id: str, manifest: Manifest | None = None) -> dict[str, Any]:
    """The manifest entry of one dataset, with where each file would be read from."""
    manifest = manifest or get_manifest()
    entry = dict(manifest.get(dataset_id))
    root = cache_dir()
    files = []
    for f in entry["files"]:
        row = {**f, "local_copy": str(locate_file(entry, f) or "")}
        if "download_page" in f:
            row["how_to_get"] = (
                f"manual download: sign in at {f['download_page']}, download {f['name']} and put "
                f"it at {root / entry['id'] / f['name']} (or in a NEUROSIG_MIRRORS folder)"
            )
        files.append(row)
    entry["files"] = files
    return entry


def fetch_dataset(
    dataset_id: str, *, force: bool = False, progress: bool = True, manifest: Manifest | None = None
) -> dict[str, str]:
    """Fetch and verify every file the dataset's loader needs; return name -> local path."""
    manifest = manifest or get_manifest()
    entry = manifest.get(dataset_id)
    return {n: str(fetch_file(entry, n, force=force, progress=progress)) for n in needed_files(entry)}


__all__ = [
    "VALUE_TYPES",
    "VERIFICATION_STATES",
    "Manifest",
    "available_offline",
    "cache_dir",
    "default_dataset",
    "fetch_dataset",
    "fetch_file",
    "get_manifest",
    "harmonise",
    "info",
    "list_datasets",
    "load",
    "load_h5ad",
    "mirror_dirs",
    "read_manifest",
]
