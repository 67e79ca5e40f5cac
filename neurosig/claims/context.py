"""What every claim level shares while one dataset is tested: the data, settings and caches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anndata as ad
import numpy as np


class NotTestable(Exception):
    """A claim the data cannot test; the message is the reason."""


@dataclass
class Context:
    """One dataset under test: its settings, the seed, and the scores and notes gathered so far."""

    adata: ad.AnnData
    settings: dict[str, Any]
    seed: int
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    coverage: dict[str, str] = field(default_factory=dict)
    controls: dict[str, list[str]] = field(default_factory=dict)
    drawn: dict[str, list[str]] = field(default_factory=dict)
    prescored: dict[str, tuple[np.ndarray, list[str], list[str]]] = field(default_factory=dict)
    genes: dict[str, np.ndarray] = field(default_factory=dict)  # single genes' values (gene_values)
