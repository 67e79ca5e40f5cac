"""neurosig: test the neuron -> immune -> tumour axis of glioma on public single-cell data.

The package follows scanpy's layout and the pipeline's order: :mod:`neurosig.knowledge`
reads what neurosig knows from ``signatures/`` (signatures, vocabulary, axis, claims),
:mod:`neurosig.datasets`
loads public glioma datasets into one harmonised AnnData schema (``pp``: QC),
:mod:`neurosig.annotate` labels cells, :mod:`neurosig.score` scores signatures,
:mod:`neurosig.communicate` infers ligand-receptor communication, :mod:`neurosig.claims`
tests the review's claims and :mod:`neurosig.export` writes per-patient scores and the
report; ``tl`` and ``pl`` gather the tools and plots for notebooks.
"""

from __future__ import annotations

from . import annotate, claims, communicate, datasets, export, knowledge, pl, pp, score, sim, tl
from ._version import __version__

__all__ = [
    "__version__",
    "annotate",
    "claims",
    "communicate",
    "datasets",
    "export",
    "knowledge",
    "pl",
    "pp",
    "score",
    "sim",
    "tl",
]
