"""Fetching: mirror, cache, network (loopback server), hashes on every read, safe archives."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import shutil
import tarfile
import threading
import time
from pathlib import Path

import pytest

from neurosig.datasets import fetch as F
from neurosig.datasets.manifest import get_manifest
from neurosig.errors import (
    FetchError,
    HashMismatchError,
    NotDataFileError,
    OfflineError,
    UnsafeArchiveError,
)

from ..conftest import needs_mirror

PAYLOAD = b"gene\tc1\tc2\nA\t1\t2\n" * 200
#: What a portal serves instead of the file when the user is not signed in.
SIGN_IN = b"<!DOCTYPE html>\n<html lang='en'><head><title>Sign in</title></head>" + b" " * 3000 + b"</html>\n"
TINY = b"gene\tc1\nA\t1\n"


class _Handler(http.server.BaseHTTPRequestHandler):
    truncate = False

    def do_GET(self):  # noqa: N802
        if self.path.endswith(("signin", "tiny.tsv")):
            body = SIGN_IN if self.path.endswith("signin") else TINY
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        body = PAYLOAD[: len(PAYLOAD) // 2] if self.path.endswith("truncated.tsv") else PAYLOAD
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))  # announces the full size
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def dataset(url: str, **file_fields) -> dict:
    return {"id": "toy", "files": [{"name": "x.tsv", "url": url, **file_fields}]}


@pytest.fixture
def online(monkeypatch):
    monkeypatch.setenv("NEUROSIG_OFFLINE", "0")


@needs_mirror
def test_mirror_file_is_verified_and_read_in_place(mirror):
    entry = get_manifest().get("darmanis2015_brain")
    path = F.fetch_file(entry, "meta.csv.gz")
    assert path == mirror / "darmanis2015_brain" / "meta.csv.gz"


@needs_mirror
def test_corrupt_mirror_copy_is_refused(mirror, tmp_path, monkeypatch):
    entry = get_manifest().get("darmanis2015_brain")
    fake = tmp_path / "darmanis2015_brain"
    fake.mkdir()
    data = (mirror / "darmanis2015_brain" / "meta.csv.gz").read_bytes()
    (fake / "meta.csv.gz").write_bytes(data[:-10])
    monkeypatch.setenv("NEUROSIG_MIRRORS", str(tmp_path))
    with pytest.raises(HashMismatchError, match="meta.csv.gz.*bytes; the manifest expects 4604"):
        F.fetch_file(entry, "meta.csv.gz")
    (fake / "meta.csv.gz").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(HashMismatchError, match="sha256 mismatch") as err:
        F.fetch_file(entry, "meta.csv.gz")
    # mirrors are read first, so `fetch --force` cannot help: the advice names what will
    msg = str(err.value)
    assert "--force` cannot replace it" in msg and f"take {tmp_path} out of NEUROSIG_MIRRORS" in msg
    assert f"Replace {fake / 'meta.csv.gz'} with a good copy" in msg and "sta426_deconvo" in msg


def test_offline_without_copy_fails_fast_and_says_where_to_put_it(isolated_cache):
    entry = get_manifest().get("darmanis2017_gbm")
    start = time.perf_counter()
    with pytest.raises(OfflineError) as err:
        F.fetch_file(entry, "GSE84465_GBM_All_data.csv.gz")
    assert time.perf_counter() - start < 5
    msg = str(err.value)
    assert "GSE84465_GBM_All_data.csv.gz" in msg
    assert "https://ftp.ncbi.nlm.nih.gov/geo/series/GSE84nnn/GSE84465/suppl/" in msg
    assert str(isolated_cache / "darmanis2017_gbm" / "GSE84465_GBM_All_data.csv.gz") in msg


def test_unreachable_host_fails_within_seconds(online, isolated_cache):
    start = time.perf_counter()
    with pytest.raises(OfflineError, match="put it at"):
        F.fetch_file(dataset("http://127.0.0.1:9/x.tsv"), "x.tsv", progress=False)
    assert time.perf_counter() - start < 15


def test_download_with_published_hash(server, online, isolated_cache):
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    entry = dataset(f"{server}/x.tsv", sha256=sha, size=len(PAYLOAD))
    path = F.fetch_file(entry, "x.tsv", progress=False)
    assert path == isolated_cache / "toy" / "x.tsv" and path.read_bytes() == PAYLOAD
    # later reads come from the cache and are checked again
    path.write_bytes(PAYLOAD.replace(b"A", b"B"))
    with pytest.raises(HashMismatchError, match="sha256 mismatch"):
        F.fetch_file(entry, "x.tsv", progress=False)
    assert F.fetch_file(entry, "x.tsv", progress=False, force=True).read_bytes() == PAYLOAD


def test_download_with_wrong_md5_keeps_nothing(server, online, isolated_cache):
    entry = dataset(f"{server}/x.tsv", md5="0" * 32)
    with pytest.raises(HashMismatchError, match="does not match its checksum"):
        F.fetch_file(entry, "x.tsv", progress=False)
    leftovers = list((isolated_cache / "toy").glob("*")) if (isolated_cache / "toy").exists() else []
    assert leftovers == []


def test_truncated_download_is_an_error_and_leaves_no_file(server, online, isolated_cache):
    entry = dataset(f"{server}/truncated.tsv")
    with pytest.raises(FetchError, match="cut short.*discarded"):
        F.fetch_file(entry, "x.tsv", progress=False)
    assert not (isolated_cache / "toy" / "x.tsv").exists()
    assert not list(isolated_cache.rglob("*.part")) and not list(isolated_cache.rglob("tmp*"))


def test_trust_on_first_use(server, online, isolated_cache):
    entry = dataset(f"{server}/x.tsv")
    path = F.fetch_file(entry, "x.tsv", progress=False)
    record = json.loads((isolated_cache / "tofu_hashes.json").read_text())
    assert record["toy/x.tsv"]["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    path.write_bytes(PAYLOAD + b"changed")
    with pytest.raises(HashMismatchError):
        F.fetch_file(entry, "x.tsv", progress=False)


def test_html_page_is_never_trusted_and_never_kept(server, online, isolated_cache):
    """A sign-in page served in place of the data is refused, deleted, and no hash recorded,
    so the real file placed there later is read without a hash error."""
    entry = dataset(f"{server}/signin")
    with pytest.raises(NotDataFileError, match="HTML page"):
        F.fetch_file(entry, "x.tsv", progress=False)
    assert not (isolated_cache / "toy" / "x.tsv").exists()
    assert not (isolated_cache / "tofu_hashes.json").exists()
    (isolated_cache / "toy" / "x.tsv").write_bytes(PAYLOAD)  # the real file, placed by hand
    assert F.fetch_file(entry, "x.tsv", progress=False).read_bytes() == PAYLOAD


def test_implausibly_small_file_gets_no_first_use_hash(server, online, isolated_cache):
    entry = dataset(f"{server}/tiny.tsv")
    path = F.fetch_file(entry, "x.tsv", progress=False)
    assert path.read_bytes() == TINY and not (isolated_cache / "tofu_hashes.json").exists()
    path.write_bytes(PAYLOAD)  # a later, real copy is accepted and then recorded
    F.fetch_file(entry, "x.tsv", progress=False)
    record = json.loads((isolated_cache / "tofu_hashes.json").read_text())
    assert record["toy/x.tsv"]["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()


def test_package_resource_is_verified():
    entry = get_manifest().get("tirosh2016_oligodendroglioma_infercnvpy")
    path = F.fetch_file(entry, "oligodendroglioma.h5ad")
    assert path.name == "oligodendroglioma.h5ad" and path.is_file()
    bad = {**entry, "files": [{**entry["files"][0], "sha256": "0" * 64}]}
    with pytest.raises(HashMismatchError):
        F.fetch_file(bad, "oligodendroglioma.h5ad")


# --------------------------------------------------------------------------- archives
def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


@pytest.mark.parametrize(
    "member",
    [_file("/etc/evil"), _file("../evil"), _file("a/../../evil")],
    ids=["absolute", "dotdot", "nested-dotdot"],
)
def test_unsafe_tar_paths_are_refused(tmp_path, member):
    archive = _tar(tmp_path / "a.tar", [member])
    with pytest.raises(UnsafeArchiveError, match="outside the cache"):
        F.extract_all(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "evil").exists()


def test_tar_links_are_refused(tmp_path):
    link = tarfile.TarInfo("link")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    archive = _tar(tmp_path / "a.tar", [_file("ok.txt"), (link, None)])
    with pytest.raises(UnsafeArchiveError, match="link"):
        F.extract_all(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "ok.txt").exists()  # nothing extracted before the check


def test_archive_member_fetch(tmp_path, monkeypatch):
    _tar(tmp_path / "RAW.tar", [_file("inner.txt", b"hello")])
    monkeypatch.setenv("NEUROSIG_MIRRORS", str(tmp_path))
    entry = {
        "id": "toy",
        "files": [
            {"name": "RAW.tar", "url": "https://example.org/RAW.tar"},
            {
                "name": "inner.txt",
                "archive": "RAW.tar",
                "member": "inner.txt",
                "sha256": hashlib.sha256(b"hello").hexdigest(),
            },
        ],
    }
    path = F.fetch_file(entry, "inner.txt")
    assert path.read_bytes() == b"hello"
    shutil.rmtree(path.parent)
    entry["files"][1]["sha256"] = "0" * 64
    with pytest.raises(HashMismatchError):
        F.fetch_file(entry, "inner.txt")
    assert not (path.parent / "inner.txt").exists()
