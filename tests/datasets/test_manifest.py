"""The bundled manifest follows its schema and covers the public glioma studies."""

from __future__ import annotations

import copy
import json
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
        cit = entry["citation"]
        assert cit.get("doi", "10.").startswith("10.")
        assert {"doi", "pmid", "url"} & set(cit), entry["id"]
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
    del bad["datasets"][2]["citation"]["pmid"]
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


# ---------------------------------------------------------------- bulk cohorts and the atlas
BULK = {
    "gliovis_freije2004", "gliovis_phillips2006", "gliovis_nutt2003", "gliovis_joo2013",
    "gliovis_ducray2008", "gliovis_vital2010", "gliovis_donson2012", "gliovis_grzmil2011",
    "gliovis_li2014", "gliovis_kwon2015", "gliovis_walsh2013", "gliovis_gleize2015", "gliovis_pola",
    "gliovis_paugh2010", "gliovis_schwartzentruber2012", "gliovis_sturm2012", "gliovis_bjerke2013",
    "gliovis_bender2013",
}  # fmt: skip


def test_bulk_entries_have_modality_licence_and_overlaps():
    m = get_manifest()
    assert BULK <= set(m.ids())
    bulk = {i: e for i, e in m.datasets.items() if e.get("modality") in ("bulk", "multi_region")}
    assert set(bulk) == BULK | {"hilz_gliomaatlas3d"}
    assert bulk["hilz_gliomaatlas3d"]["modality"] == "multi_region"
    for did, e in bulk.items():
        assert e["license"] and e["n_samples"] > 0, did
        assert e["verification"] == "verified_here" and all("sha256" in f for f in e["files"]), did
        for other in e.get("overlaps", []):  # overlaps are declared both ways
            assert did in m.get(other).get("overlaps", []), (did, other)
    assert "gliovis_pola" in bulk["gliovis_gleize2015"]["overlaps"]
    # Bjerke's cohort is Schwartzentruber 2012 + Paugh 2010 (its pData 'Study' column)
    bjerke = set(bulk["gliovis_bjerke2013"]["overlaps"])
    assert bjerke == {"gliovis_schwartzentruber2012", "gliovis_paugh2010"}
    assert sum(e["n_samples"] for i, e in bulk.items() if i in BULK) == 820


@needs_mirror
def test_bulk_hashes_match_the_mirror_sha256sums():
    """Every bulk file's sha256 equals the line of the mirror's SHA256SUMS for its path."""
    sums = {}
    for folder in ("gliovis_bulk", "gliomaatlas3d"):
        for line in (MIRROR / folder / "SHA256SUMS").read_text().splitlines():
            digest, rel = line.split()
            sums[f"{folder}/{rel.removeprefix('./')}"] = digest
    checked = 0
    for entry in get_manifest().datasets.values():
        if entry.get("modality") not in ("bulk", "multi_region"):
            continue
        for f in entry["files"]:
            assert f["sha256"] == sums[f"{entry['mirror_dir']}/{f.get('path', f['name'])}"], f["name"]
            checked += 1
    assert checked == 18 + 2 + 17 * 2


def test_bulk_entry_needs_licence_and_single_cell_needs_labels():
    bad = raw()
    bulk = next(d for d in bad["datasets"] if d.get("modality") == "bulk")
    del bulk["license"]
    with pytest.raises(ManifestError, match="license"):
        validate_manifest(bad)
    bad = raw()
    del bad["datasets"][0]["schema"]["cell_type_author"]
    with pytest.raises(ManifestError, match="cell_type_author"):
        validate_manifest(bad)


def test_datasets_list_json_shows_modality():
    from click.testing import CliRunner

    from neurosig.cli import main

    result = CliRunner().invoke(main, ["datasets", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.output)}
    assert rows["gliovis_freije2004"]["modality"] == "bulk"
    assert rows["hilz_gliomaatlas3d"]["modality"] == "multi_region"
    assert rows["tirosh2016_oligodendroglioma"]["modality"] == "single_cell"
