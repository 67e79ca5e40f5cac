"""Progress of long loops: a bar in a terminal, a few plain lines in a log.

tqdm redraws its bar with carriage returns; written to a file or a Snakemake log, every
redraw becomes text and floods it. :func:`progress` keeps tqdm's bar when standard error
is a terminal and otherwise writes one line when a loop starts and one every
``every`` percent (default 10), so a log holds a line per stage and a few per loop.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(
    items: Iterable[T], *, desc: str = "", unit: str = "chunk", disable: bool = False, every: float = 10.0
) -> Iterator[T]:
    """Iterate over ``items`` reporting progress to standard error.

    Parameters
    ----------
    items
        What to iterate over (with a length, for percentages).
    desc, unit
        Name of the loop and of one item.
    disable
        Report nothing.
    every
        Outside a terminal: percent between lines.

    Examples
    --------
    >>> list(progress(range(3), disable=True))
    [0, 1, 2]
    """
    if disable:
        yield from items
        return
    if sys.stderr.isatty():
        yield from tqdm(items, desc=desc, unit=unit, leave=False)
        return
    total = len(items) if hasattr(items, "__len__") else None
    start = time.perf_counter()
    print(f"{desc}: {total if total is not None else '?'} {unit}s ...", file=sys.stderr, flush=True)
    next_pct = every
    done = 0
    for item in items:
        yield item
        done += 1
        if total:
            pct = 100.0 * done / total
            if pct >= next_pct or done == total:
                took = time.perf_counter() - start
                line = f"{desc}: {pct:.0f}% ({done}/{total} {unit}s, {took:.1f} s)"
                print(line, file=sys.stderr, flush=True)
                while next_pct <= pct:
                    next_pct += every
