"""The bundled manifest follows its schema and covers the public glioma studies."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from neurosig._resources import manifest_path
from neurosig.datasets.manifest import get_manifest, read_manifest, validate_manifest
from neurosig.errors import ManifestError, UnknownDatasetError

from ..conftest import MIRROR, needs_mirror

STUDIES = {  # every study of ../shared/data/PUBLIC_SOURCES.md and the mirror README
    "darmanis2017_gbm",
    "neftel2019_ss2",
    "neftel2019_10x",
    "tirosh2016_oligodendroglioma_full",
    "venteicher2017_astrocytoma",
    "filbin2018_dmg",
    "yuan2018_gbm",
    "abdelfattah2022_glioma",
    "krishna2023_connectivity",
    "mathewson2021_tcell",
    "pombo_antunes2021_myeloid",
    "richards2021_gbm",
    "wang2022_longitudinal",
    "gbmap_core",
    "tirosh2016_oligodendroglioma",
    "neftel2019_mgh136",
    "darmanis2015_brain",
}


def raw():
    return yaml.safe_load(manifest_path().read_text())


def test_manifest_valid_and_complete():
    m = get_manifest()
    assert len(m.datasets) >= 14
    assert STUDIES <= set(m.ids())
    for entry in m.datasets.values():
        assert entry["citation"]["doi"].startswith("10.")
        if entry["verification"] == "checksum_published":
            assert any("sha256" in f or "md5" in f for f in entry["files"]), entry["id"]


@needs_mirror
def test_verified_hashes_match_the_mirror_readme():
    """Every sha256 in the manifest for a mirrored file equals the one the mirror publishes."""
    readme = (MIRROR / "README.md").read_text()
    published = dict(re.findall(r"`[\w/]*?([\w.]+)`.*?\| ([0-9a-f]{64}) \|", readme))
    checked = 0
    for entry in get_manifest().datasets.values():
        for f in entry["files"]:
            if f["name"] in published and "sha256" in f:
                assert f["sha256"] == published[f["name"]], f["name"]
                checked += 1
    assert checked >= 8


def test_unknown_dataset_suggests_near_matches():
    with pytest.raises(UnknownDatasetError, match="Did you mean: tirosh2016_oligodendroglioma"):
        get_manifest().get("tirosh2016_oligodendrogliom")


def test_unknown_parser_is_refused():
    bad = raw()
    bad["datasets"][0]["load"]["matrix"][0]["parser"] = "dense_matrx"
    with pytest.raises(ManifestError, match="unknown parser 'dense_matrx'.*dense_matrix"):
        validate_manifest(bad)


def test_schema_errors_name_the_place():
    bad = raw()
    del bad["datasets"][2]["citation"]["doi"]
    with pytest.raises(ManifestError, match="datasets/2/citation"):
        validate_manifest(bad)
    bad = raw()
    bad["datasets"].append(copy.deepcopy(bad["datasets"][0]))
    with pytest.raises(ManifestError, match="appears twice"):
        validate_manifest(bad)
    bad = raw()
    del bad["datasets"][0]["files"][0]["sha256"]
    with pytest.raises(ManifestError, match="verified_here"):
        validate_manifest(bad)


def test_yaml_is_read_with_a_safe_loader(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("!!python/object/apply:os.system ['echo pwned']\n")
    # the safe loader refuses the tag; the user sees one clear error naming the file
    with pytest.raises(ManifestError, match="not valid YAML.*python/object/apply"):
        read_manifest(path)
