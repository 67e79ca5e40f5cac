"""Exceptions raised by neurosig. Every message names the problem and the fix."""

from __future__ import annotations


class NeurosigError(Exception):
    """Base class of neurosig's own errors."""


class ManifestError(NeurosigError):
    """The data manifest (or a user manifest) does not follow its schema."""


class UnknownDatasetError(NeurosigError, KeyError):
    """A dataset id that the manifest does not hold."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class FetchError(NeurosigError):
    """A file could not be obtained from the cache, a mirror or the network."""


class OfflineError(FetchError):
    """No cached or mirrored copy and no network access."""


class HashMismatchError(FetchError):
    """A file's checksum differs from the recorded one (corrupt, partial or changed)."""


class ManualDownloadError(FetchError):
    """A file that only a person can download (portal sign-in) is not in place yet."""


class NotDataFileError(FetchError):
    """What was obtained is an HTML page or an implausibly small file, not the data."""


class UnsafeArchiveError(FetchError):
    """An archive member would land outside its destination folder."""


class ParseError(NeurosigError):
    """A file does not have the layout its parser expects."""


class InputDataError(NeurosigError, ValueError):
    """Expression values or labels that cannot be used as given."""
