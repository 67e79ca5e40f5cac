"""Users' own manifests: NEUROSIG_MANIFEST and --manifest add entries to the bundled ones.

Same schema and validation as ``data_manifest.yaml``; a bad file or an id that clashes
with a bundled (or another user's) id is one clear error, never a traceback.
"""

from __future__ import annotations

import copy
import json
import os

import pytest
import yaml
from click.testing import CliRunner

from neurosig._resources import manifest_path
from neurosig.cli import main
from neurosig.datasets import list_datasets
from neurosig.datasets.manifest import MANIFEST_ENV, add_user_manifests, get_manifest
from neurosig.errors import ManifestError


def _mine(tmp_path, name="mine.yaml", ids=("my_gbm_2024",), edit=None):
    """A user manifest of entries copied from a bundled one (Tirosh 2016) under new ids."""
    bundled = yaml.safe_load(manifest_path().read_text())
    base = next(e for e in bundled["datasets"] if e["id"] == "tirosh2016_oligodendroglioma")
    entries = []
    for i in ids:
        e = copy.deepcopy(base)
        e["id"], e["title"] = i, f"My own glioma data ({i})"
        e.pop("mirror_dir", None)
        if edit:
            edit(e)
        entries.append(e)
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"version": bundled["version"], "datasets": entries}))
    return path


@pytest.fixture(autouse=True)
def no_user_manifest(monkeypatch):
    monkeypatch.delenv(MANIFEST_ENV, raising=False)


def test_env_adds_entries_after_the_bundled_ones(tmp_path, monkeypatch):
    a, b = _mine(tmp_path, "a.yaml", ("mine_a",)), _mine(tmp_path, "b.yaml", ("mine_b",))
    bundled = get_manifest().ids()
    monkeypatch.setenv(MANIFEST_ENV, os.pathsep.join([str(a), str(b)]))
    m = get_manifest()
    assert m.ids() == [*bundled, "mine_a", "mine_b"]
    assert m.source("mine_b") == b and m.source(bundled[0]) == manifest_path()
    assert "mine_a" in set(list_datasets()["id"])
    monkeypatch.delenv(MANIFEST_ENV)
    assert get_manifest().ids() == bundled  # unset: the bundled manifest alone


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\ndatasets: [\n", "not valid YAML at line"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        ("version: 1\ndatasets:\n- id: Bad-Id\n", "invalid at datasets/0"),
    ],
)
def test_bad_file_is_a_clear_error(tmp_path, monkeypatch, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    monkeypatch.setenv(MANIFEST_ENV, str(path))
    with pytest.raises(ManifestError, match=message) as err:
        get_manifest()
    assert str(path) in str(err.value)


def test_missing_file_and_unknown_parser(tmp_path, monkeypatch):
    monkeypatch.setenv(MANIFEST_ENV, str(tmp_path / "nope.yaml"))
    with pytest.raises(ManifestError, match="which is not a file"):
        get_manifest()

    def bad_parser(e):
        e["load"]["matrix"][0]["parser"] = "tsv_matrx"

    monkeypatch.setenv(MANIFEST_ENV, str(_mine(tmp_path, edit=bad_parser)))
    with pytest.raises(ManifestError, match="unknown parser 'tsv_matrx'"):
        get_manifest()


def test_id_clash_with_bundled_or_between_files(tmp_path, monkeypatch):
    clash = _mine(tmp_path, "clash.yaml", ("darmanis2015_brain",))
    monkeypatch.setenv(MANIFEST_ENV, str(clash))
    with pytest.raises(ManifestError, match="already defined in the bundled manifest.*Rename it"):
        get_manifest()
    a, b = _mine(tmp_path, "a.yaml", ("same_id",)), _mine(tmp_path, "b.yaml", ("same_id",))
    monkeypatch.setenv(MANIFEST_ENV, os.pathsep.join([str(a), str(b)]))
    with pytest.raises(ManifestError, match=f"already defined in {a}"):
        get_manifest()


def test_add_user_manifests_validates_then_sets_the_env(tmp_path, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\n")
    with pytest.raises(ManifestError):
        add_user_manifests([bad])
    assert MANIFEST_ENV not in os.environ  # nothing half-set
    good = _mine(tmp_path)
    add_user_manifests([good])
    assert os.environ[MANIFEST_ENV] == str(good.resolve())
    assert "my_gbm_2024" in get_manifest().ids()


def test_cli_manifest_option(tmp_path, monkeypatch):
    good = _mine(tmp_path)
    result = CliRunner().invoke(main, ["datasets", "list", "--format", "json", "--manifest", str(good)])
    assert result.exit_code == 0, result.output
    assert "my_gbm_2024" in {d["id"] for d in json.loads(result.output)}
    result = CliRunner().invoke(main, ["datasets", "info", "my_gbm_2024", "--manifest", str(good)])
    assert result.exit_code == 0 and "My own glioma data" in result.output
    clash = _mine(tmp_path, "clash.yaml", ("tirosh2016_oligodendroglioma",))
    result = CliRunner().invoke(main, ["datasets", "list", "--manifest", str(clash)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "already defined" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "command", [["run"], ["test", "x.h5ad"], ["workflow"], ["score", "x"], ["stage", "fetch"]]
)
def test_commands_that_read_the_manifest_take_the_option(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert "--manifest" in result.output
