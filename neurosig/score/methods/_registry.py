"""Registry of scoring methods with their metadata."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import aucell, score_genes, tirosh, ucell, ulm


@dataclass(frozen=True)
class MethodMeta:
    """One scoring method."""

    name: str
    kind: str  # "linear": weights + offset from gene stats; "rank": per-cell ranks
    func: Callable
    desc: str
    reference: str
    needs: str  # the values it expects


METHODS = {
    m.name: m
    for m in (
        MethodMeta(
            "score_genes",
            "linear",
            score_genes.weights,
            "mean of the set minus the mean of expression-matched control genes, exactly as "
            "scanpy.tl.score_genes (same bins, same control sampling for the same seed)",
            "Satija 2015 / Tirosh 2016; scanpy.tl.score_genes",
            "log-normalised",
        ),
        MethodMeta(
            "tirosh",
            "linear",
            tirosh.weights,
            "Tirosh 2016 / Neftel 2019 module score: relative expression (centred per gene), "
            "minus 100 expression-matched controls per gene from 30 bins of aggregate expression",
            "Tirosh 2016 Science 352:189; Neftel 2019 Cell 178:835",
            "log2(TPM/10+1) and linear TPM",
        ),
        MethodMeta(
            "ulm",
            "moments",
            ulm.tvalues,
            "t-value of a univariate linear model of each cell's expression on the set's weights, "
            "as decoupler's mt.ulm",
            "Badia-i-Mompel 2022 Bioinformatics Advances; decoupler mt.ulm",
            "log-normalised",
        ),
        MethodMeta(
            "ucell",
            "rank",
            ucell.score_chunk,
            "normalised Mann-Whitney U of the set's ranks among each cell's top 1500 genes, as pyUCell",
            "Andreatta & Carmona 2021 Comput Struct Biotechnol J 19:3796; pyUCell",
            "any expression scale",
        ),
        MethodMeta(
            "aucell",
            "rank",
            aucell.score_chunk,
            "area under the recovery curve of the set among each cell's top-ranked genes, as "
            "decoupler's mt.aucell",
            "Aibar 2017 Nat Methods 14:1083; decoupler mt.aucell",
            "any expression scale",
        ),
    )
}
