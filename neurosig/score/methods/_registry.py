"""Registry of scoring methods: each module owns its ``META``; adding one is one line here."""

from __future__ import annotations

from ..._registry import by_name
from . import aucell, score_genes, ssgsea, tirosh, ucell, ulm
from ._meta import MethodMeta

METHODS: dict[str, MethodMeta] = by_name(
    score_genes.META,
    tirosh.META,
    ulm.META,
    ucell.META,
    aucell.META,
    ssgsea.META,
)
