"""Which genes of each signature a dataset has: found, rescued by alias, missing."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..datasets.genes import current_symbol
from ..errors import InputDataError
from ..knowledge.signatures import Signature


@dataclass(frozen=True)
class Coverage:
    """Coverage of one signature in one dataset."""

    signature: str
    n_genes: int
    found: list[str]
    rescued: dict[str, str]  # signature symbol -> var name (current symbol)
    missing: list[str]

    @property
    def fraction(self) -> float:
        """Fraction of the signature's genes measured (found or rescued)."""
        return (len(self.found) + len(self.rescued)) / self.n_genes

    def weights(self, sig: Signature) -> dict[str, float]:
        """The signature's weights keyed by the dataset's gene names (present genes only)."""
        out = {g: sig.weights[g] for g in self.found}
        out.update({var: sig.weights[g] for g, var in self.rescued.items()})
        return out

    def record(self) -> dict:
        """Counts, fraction, rescued and missing genes, as recorded in ``.uns``."""
        return {
            "n_genes": self.n_genes,
            "n_found": len(self.found),
            "n_rescued": len(self.rescued),
            "n_missing": len(self.missing),
            "fraction": round(self.fraction, 4),
            "rescued": dict(self.rescued),
            "missing": list(self.missing),
        }


def coverage(sig: Signature, var_names: pd.Index) -> Coverage:
    """Match a signature's genes to ``var_names``, renaming outdated symbols offline."""
    present = set(var_names)
    found, rescued, missing = [], {}, []
    for g in sig.weights:
        if g in present:
            found.append(g)
        elif (c := current_symbol(g)) in present and c not in sig.weights:
            rescued[g] = c
        else:
            missing.append(g)
    return Coverage(sig.id, len(sig.weights), found, rescued, missing)


def check_coverage(
    covs: list[Coverage], min_coverage: float, min_genes: int, strict: bool
) -> tuple[list[Coverage], dict]:
    """Split into usable and refused signatures; refusing raises when ``strict``.

    A signature is refused when it has fewer than ``min_genes`` genes present or less
    than ``min_coverage`` of its genes: it is never scored on zero (or too few) genes.
    """
    ok, refused = [], {}
    for c in covs:
        n = len(c.found) + len(c.rescued)
        if n < min_genes or c.fraction < min_coverage:
            refused[c.signature] = (
                f"{n} of {c.n_genes} genes present ({c.fraction:.0%}); needs at least {min_genes} "
                f"and {min_coverage:.0%}. Missing e.g. {', '.join(c.missing[:5])}"
            )
        else:
            ok.append(c)
    if refused and strict:
        lines = "; ".join(f"{k}: {v}" for k, v in refused.items())
        raise InputDataError(
            f"Signatures refused for low coverage: {lines}. Check the gene identifiers (symbols, "
            "human), or lower min_coverage if a partial set is acceptable."
        )
    if not ok:
        raise InputDataError(
            "No signature has enough of its genes in this dataset ("
            + "; ".join(f"{k}: {v}" for k, v in list(refused.items())[:3])
            + "). Are var_names human gene symbols?"
        )
    return ok, refused
