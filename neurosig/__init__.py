"""neurosig: test the neuron -> immune -> tumour axis of glioma on public single-cell data.

The package follows scanpy's layout: :mod:`neurosig.datasets` loads public glioma
datasets into one harmonised AnnData schema, :mod:`neurosig.pp` holds preprocessing
and quality control. Later stages (annotate, score, communicate, claims, export) build
on the same schema.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neurosig")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

from . import annotate, claims, communicate, datasets, pl, pp, score, sim, tl  # noqa: E402

__all__ = ["__version__", "annotate", "claims", "communicate", "datasets", "pl", "pp", "score", "sim", "tl"]
