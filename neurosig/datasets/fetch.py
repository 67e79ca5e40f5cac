"""Cached, verified downloads: cache -> mirrors -> network, hash checked on every read.

Where a file comes from, in order:

1. a mirror folder (``NEUROSIG_MIRRORS``, folders separated by ``os.pathsep``; CI points
   it at ``../shared/data``), read in place at ``<mirror>/<mirror_dir>/<name>`` or
   ``<mirror>/<name>``;
2. the user cache (``NEUROSIG_CACHE``, default: the OS cache folder of ``neurosig``),
   at ``<cache>/<dataset id>/<name>``;
3. the network, through pooch, with connect/read timeouts and a progress bar, written
   under a temporary name and renamed when complete;
4. a Python package that ships the file (``package``/``resource`` entries), read offline;
5. a member of a tar archive that is itself a manifest file (``archive``/``member``).

Every read, from any of these, checks the file against its sha256 (or the published
md5). Where no checksum is published, the sha256 of the first copy seen is recorded in
``<cache>/tofu_hashes.json`` (trust on first use) and checked on every later read. No
hash is ever recorded for an HTML page (a sign-in or error page saved in place of the
data: refused, and deleted when it was just downloaded) or for a file under
:data:`MIN_TOFU_BYTES` (not recorded, so the real file placed later is not refused).

Files with a ``download_page`` instead of a ``url`` (Single Cell Portal studies that
need a sign-in) are never fetched: a missing one fails at once with a message naming
the page and the exact path to put the file at.
``NEUROSIG_OFFLINE=1`` forbids the network: a missing file then fails at once with a
message naming the file, its URL and where to put it by hand.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shutil
import tarfile
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from .._atomic import atomic_path, write_text
from .._provenance import file_hash
from ..errors import (
    FetchError,
    HashMismatchError,
    ManualDownloadError,
    NotDataFileError,
    OfflineError,
    UnsafeArchiveError,
)

log = logging.getLogger(__name__)

#: Smallest file whose hash is recorded on first use; smaller ones are never trusted.
MIN_TOFU_BYTES = 1024

#: Seconds to wait for a connection, and between bytes, on every network call.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 120.0


def cache_dir() -> Path:
    """The download cache: ``$NEUROSIG_CACHE`` or the OS user cache of ``neurosig``."""
    env = os.environ.get("NEUROSIG_CACHE")
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("neurosig"))


def mirror_dirs() -> list[Path]:
    """Mirror folders searched before the network (``$NEUROSIG_MIRRORS``)."""
    env = os.environ.get("NEUROSIG_MIRRORS", "")
    return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]


def network_allowed() -> bool:
    """False when ``$NEUROSIG_OFFLINE`` is set to 1/true/yes."""
    return os.environ.get("NEUROSIG_OFFLINE", "").strip().lower() not in {"1", "true", "yes"}


# --------------------------------------------------------------------------- hashes
_VERIFIED: dict[tuple[str, int, int], str] = {}


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def verified_sha256(path: Path) -> str:
    """sha256 of a file verified in this process (computed again if it changed since)."""
    key = _stat_key(path)
    if key not in _VERIFIED:
        _VERIFIED[key] = file_hash(path, "sha256")
    return _VERIFIED[key]


class TofuStore:
    """sha256 of files that have no published checksum, recorded on first use."""

    def __init__(self, root: Path) -> None:
        self.path = root / "tofu_hashes.json"

    def _read(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {}
        try:
            return json.loads(self.path.read_text())
        except json.JSONDecodeError as err:
            raise FetchError(
                f"The trust-on-first-use record {self.path} is corrupt ({err}). "
                "Delete it; hashes will be recorded again on the next read."
            ) from None

    def get(self, key: str) -> dict[str, Any] | None:
        """The record of ``key``, or ``None`` when none was made."""
        return self._read().get(key)

    def record(self, key: str, sha256: str, size: int, url: str | None) -> None:
        """Record the hash and size first seen for ``key``, with today's date."""
        data = self._read()
        data[key] = {
            "sha256": sha256,
            "size": size,
            "url": url,
            "recorded": _dt.date.today().isoformat(),
        }
        write_text(self.path, json.dumps(data, indent=1, sort_keys=True))


def expected_checksum(file: dict[str, Any], tofu: dict[str, Any] | None) -> tuple[str, str] | None:
    """(algorithm, hex digest) that a file must match, or None if nothing is known yet."""
    if "sha256" in file:
        return "sha256", file["sha256"]
    if "md5" in file:
        return "md5", file["md5"]
    if tofu:
        return "sha256", tofu["sha256"]
    return None


def looks_like_html(path: Path) -> bool:
    """True when the file starts like an HTML page (after optional blanks), not data."""
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head")) or b"<html" in head[:256]


def _fix_advice(path: Path, file: dict[str, Any], dataset_id: str) -> str:
    """What repairs a copy that fails its check, by where the copy lies.

    Mirrors are read before the cache and the network, so ``--force`` cannot replace a
    mirror copy: the mirror itself must be repaired (or left out of NEUROSIG_MIRRORS).
    """
    resolved = path.resolve()
    mirror = next((m for m in mirror_dirs() if resolved.is_relative_to(m.resolve())), None)
    if mirror is not None:
        source = f"from {file['url']}" if file.get("url") else "from its source"
        return (
            f"This copy is in the mirror {mirror} (NEUROSIG_MIRRORS), which is read before the cache "
            f"and the network, so `--force` cannot replace it. Replace {path} with a good copy "
            f"(download it {source}), or take {mirror} out of NEUROSIG_MIRRORS to fetch it into "
            "the cache instead."
        )
    if "package" in file:
        return (
            f"It ships inside the Python package {file['package']!r}: reinstall it "
            f"(pip install --force-reinstall {file['package']})."
        )
    return (
        f"The file may be corrupt, truncated or changed upstream. Delete {path} and fetch "
        f"it again (`neurosig datasets fetch {dataset_id} --force`)."
    )


def verify_file(path: Path, file: dict[str, Any], dataset_id: str, tofu: TofuStore) -> str:
    """Check ``path`` against the manifest's checksum and size; return its sha256.

    With no published checksum the first sha256 seen is recorded and later reads
    must match it.
    """
    key = f"{dataset_id}/{file['name']}"
    size = path.stat().st_size
    fix = _fix_advice(path, file, dataset_id)
    if "size" in file and size != file["size"]:
        raise HashMismatchError(
            f"{file['name']} ({path}) has {size} bytes; the manifest expects {file['size']}. {fix}"
        )
    record = tofu.get(key)
    expected = expected_checksum(file, record)
    sha256 = file_hash(path, "sha256")
    _VERIFIED[_stat_key(path)] = sha256
    if expected is not None:
        algorithm, digest = expected
        actual = sha256 if algorithm == "sha256" else file_hash(path, algorithm)
        if actual != digest:
            raise HashMismatchError(
                f"{algorithm} mismatch for {file['name']} ({path}): expected {digest}, got {actual}. {fix}"
            )
    if record is None and "sha256" not in file:
        if looks_like_html(path):
            raise NotDataFileError(
                f"{file['name']} ({path}) is an HTML page (a sign-in or error page), not the "
                f"data file; no hash was recorded. {_how_to_get(file)}"
            )
        if size < MIN_TOFU_BYTES:
            log.warning("%s has only %d bytes: too small to trust, so no hash is recorded for it", key, size)
            return sha256
        tofu.record(key, sha256, size, file.get("url"))
        log.info("recorded sha256 %s for %s (trust on first use)", sha256, key)
    return sha256


def _how_to_get(file: dict[str, Any]) -> str:
    if "download_page" in file:
        return f"Download it by hand from {file['download_page']} (free sign-in)."
    if "url" in file:
        return f"Download it again from {file['url']}."
    return ""


# --------------------------------------------------------------------------- archives
def check_member_safe(info: tarfile.TarInfo) -> None:
    """Refuse tar members that could land outside the destination folder."""
    name = PurePosixPath(info.name)
    if name.is_absolute() or ".." in name.parts or info.name.startswith(("/", "\\")):
        raise UnsafeArchiveError(
            f"Archive member {info.name!r} has an absolute path or '..': refused, since it "
            "would be written outside the cache. The archive is not the published one."
        )
    if not info.isfile():
        raise UnsafeArchiveError(
            f"Archive member {info.name!r} is a link, device or folder, not a regular file: "
            "refused. Only regular files are extracted from downloaded archives."
        )


def extract_member(archive: Path, member: str, dest: Path) -> Path:
    """Extract one regular-file ``member`` of a tar ``archive`` to ``dest``, atomically."""
    try:
        with tarfile.open(archive) as tar:
            try:
                info = tar.getmember(member)
            except KeyError:
                raise FetchError(
                    f"{archive.name} holds no member {member!r}; check the manifest entry."
                ) from None
            check_member_safe(info)
            src = tar.extractfile(info)
            assert src is not None  # regular file, checked above
            with src, atomic_path(dest) as tmp, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out)
    except tarfile.TarError as err:
        raise FetchError(
            f"{archive} is not a readable tar archive ({err}); it may be truncated. "
            "Delete it and fetch it again."
        ) from None
    return dest


def extract_all(archive: Path, dest_dir: Path) -> list[Path]:
    """Extract every member of ``archive`` into ``dest_dir`` after checking all of them.

    Nothing is written if any member is unsafe (absolute path, ``..``, link, device).
    """
    out = []
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for info in members:
            if not info.isdir():
                check_member_safe(info)
        for info in members:
            if info.isfile():
                out.append(extract_member(archive, info.name, dest_dir / info.name))
    return out


# --------------------------------------------------------------------------- fetching
def _where_to_put(dataset: dict[str, Any], file: dict[str, Any], root: Path) -> str:
    sub = dataset.get("mirror_dir", dataset["id"])
    places = [str(root / dataset["id"] / file["name"])]
    places += [str(m / sub / file.get("path", file["name"])) for m in mirror_dirs()]
    return " or ".join(places)


def _download(url: str, file: dict[str, Any], dest_dir: Path, progress: bool) -> Path:
    import pooch
    import requests

    known = None
    if "sha256" in file:
        known = f"sha256:{file['sha256']}"
    elif "md5" in file:
        known = f"md5:{file['md5']}"
    downloader = pooch.HTTPDownloader(progressbar=progress, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
    dest_dir.mkdir(parents=True, exist_ok=True)
    try:
        path = pooch.retrieve(
            url,
            known_hash=known,
            fname=file["name"],
            path=dest_dir,
            downloader=downloader,
            progressbar=progress,
        )
    except ValueError as err:  # pooch's checksum mismatch; it removed the partial file
        raise HashMismatchError(
            f"Download of {file['name']} from {url} does not match its checksum ({err}). "
            "The download was partial or the file changed upstream; nothing was kept."
        ) from None
    except (requests.ConnectionError, requests.Timeout) as err:
        raise OfflineError(f"Could not download {file['name']} from {url}: {err}") from None
    except requests.RequestException as err:  # e.g. the connection closed mid-file
        raise FetchError(
            f"Download of {file['name']} from {url} was cut short ({type(err).__name__}: "
            f"{err}); the partial file was discarded. Try again."
        ) from None
    return Path(path)


def _package_path(file: dict[str, Any]) -> Path | None:
    """Where a package-shipped file lies, or None when the package is not installed."""
    try:
        return Path(str(resources.files(file["package"]).joinpath(file["resource"])))
    except ModuleNotFoundError:
        return None


def _mirror_copy(dataset: dict[str, Any], file: dict[str, Any]) -> Path | None:
    """The first mirror copy of a file: ``<mirror>/<mirror_dir>/<rel>`` or ``<mirror>/<rel>``.

    ``rel`` is the file's ``path`` when it has one (a file inside a folder tree), else its name.
    """
    sub = dataset.get("mirror_dir", dataset["id"])
    rel = file.get("path", file["name"])
    for mirror in mirror_dirs():
        for candidate in (mirror / sub / rel, mirror / rel):
            if candidate.is_file():
                return candidate
    return None


def fetch_file(
    dataset: dict[str, Any],
    file: dict[str, Any] | str,
    *,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Path of a verified local copy of one manifest file, fetching it if needed.

    Parameters
    ----------
    dataset
        The manifest entry of the dataset.
    file
        One of its ``files`` entries, or that entry's name.
    force
        Discard a cached copy and obtain the file again.
    progress
        Show a progress bar on downloads.
    """
    files = {f["name"]: f for f in dataset["files"]}
    if isinstance(file, str):
        try:
            file = files[file]
        except KeyError:
            raise FetchError(f"{dataset['id']} has no file named {file!r}.") from None
    root = cache_dir()
    tofu = TofuStore(root)
    did = dataset["id"]

    if "package" in file:
        path = _package_path(file)
        if path is None:
            raise FetchError(
                f"{file['name']} ships with the Python package {file['package']!r}, which is "
                f"not installed. Install it: pip install {file['package']}"
            )
        if not path.is_file():
            raise FetchError(f"{file['package']} does not ship {file['resource']}.")
        verify_file(path, file, did, tofu)
        return path

    mirrored = _mirror_copy(dataset, file)
    if mirrored is not None:
        verify_file(mirrored, file, did, tofu)
        return mirrored

    cached = root / did / file["name"]
    if cached.is_file() and force:
        cached.unlink()
    if cached.is_file():
        verify_file(cached, file, did, tofu)
        return cached

    if "archive" in file:
        archive = fetch_file(dataset, files[file["archive"]], force=force, progress=progress)
        extract_member(archive, file["member"], cached)
        try:
            verify_file(cached, file, did, tofu)
        except HashMismatchError:
            cached.unlink()
            raise
        return cached

    if "download_page" in file:
        raise ManualDownloadError(
            f"{file['name']} of dataset {did} needs a manual download: sign in at "
            f"{file['download_page']}, download {file['name']} and put it at "
            f"{_where_to_put(dataset, file, root)}. Then run the command again."
        )
    url = file["url"]
    if not network_allowed():
        raise OfflineError(
            f"{file['name']} of dataset {did} is not in the cache or any mirror, and the "
            f"network is off (NEUROSIG_OFFLINE). Download it from {url} and put it at "
            f"{_where_to_put(dataset, file, root)}."
        )
    try:
        path = _download(url, file, root / did, progress)
    except OfflineError as err:
        raise OfflineError(
            f"{err}. If this machine is offline, download {url} elsewhere and put it at "
            f"{_where_to_put(dataset, file, root)}, or set NEUROSIG_MIRRORS to a folder "
            "holding it."
        ) from None
    try:
        verify_file(path, file, did, tofu)
    except (HashMismatchError, NotDataFileError):
        path.unlink()
        raise
    return path


def locate_file(dataset: dict[str, Any], file: dict[str, Any]) -> Path | None:
    """Where a file would be read from without the network, or None (no hash check)."""
    if "package" in file:
        path = _package_path(file)
        return path if path is not None and path.is_file() else None
    mirrored = _mirror_copy(dataset, file)
    if mirrored is not None:
        return mirrored
    cached = cache_dir() / dataset["id"] / file["name"]
    if cached.is_file():
        return cached
    if "archive" in file:
        files = {f["name"]: f for f in dataset["files"]}
        return cached if locate_file(dataset, files[file["archive"]]) else None
    return None


def available_offline(dataset: dict[str, Any], needed: list[str] | None = None) -> bool:
    """True when every file the loader needs is in a package, mirror or the cache."""
    names = needed if needed is not None else [f["name"] for f in dataset["files"]]
    files = {f["name"]: f for f in dataset["files"]}
    return all(locate_file(dataset, files[n]) is not None for n in names)
