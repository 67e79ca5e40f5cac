"""The installed neurosig version, for the modules below the package's top ``__init__``.

Bottom-layer modules (provenance, simulator, writers) import ``__version__`` from here,
not from ``neurosig``, so that no arrow points up to the package that imports them all.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neurosig")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
