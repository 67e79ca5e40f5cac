"""Registries of records that carry their own ``name`` (scoring methods, claim levels)."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def by_name(*records: T) -> dict[str, T]:
    """``{record.name: record}`` in the order given; a name given twice is refused."""
    out: dict[str, T] = {}
    for record in records:
        name = record.name  # type: ignore[attr-defined]
        if name in out:
            raise ValueError(f"{name!r} is registered twice")
        out[name] = record
    return out
