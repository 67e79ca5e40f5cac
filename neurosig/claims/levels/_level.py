"""The record each claim-test level defines next to its test function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    """One claim-test level: a claim's ``level:`` names it.

    ``func`` tests one claim on one dataset and returns the evidence row's fields (and
    ``_per_patient`` records), or raises :class:`~neurosig.claims.context.NotTestable`.
    With ``variables`` (the claim has ``x`` and ``y``) it is called
    ``func(ctx, claim_id, claim, x_genes, y_genes)`` after the circularity guard, and the
    engine records the guard and the genes' coverage; otherwise ``func(ctx, claim_id, claim)``.
    ``population``, when given, writes the row's ``population`` text from the claim.
    ``pool``, when given, pools a claim's testable rows of several datasets:
    ``pool(rows, first_row, alpha)`` returns the pooled row's fields; by default
    :func:`neurosig.claims.pooling.pool_estimates` (random effects over ``z``, ``z_se``).
    ``data_types`` are the kinds of data the level applies to (``single_cell``, ``bulk``,
    ``multi_region``: the dataset's ``.uns["neurosig"]["modality"]``); a claim whose level
    does not apply to the dataset's data type gives no row.
    """

    name: str
    func: Callable[..., dict]
    desc: str
    variables: bool = True
    population: Callable[[dict], list[str]] | None = None
    pool: Callable[..., dict] | None = None
    data_types: tuple[str, ...] = ("single_cell",)
