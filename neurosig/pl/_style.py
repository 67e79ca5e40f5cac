"""One fixed matplotlib style for figures written to files.

Importing some libraries changes matplotlib's global settings (e.g. legend spacing), so
the same figure could differ between a process that imported them and one that did not.
Exported figures are drawn under matplotlib's defaults so that the same data and seed
give the same bytes. Figures drawn in a notebook (``neurosig.pl``) keep the user's style.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def export_style() -> Iterator[None]:
    """Matplotlib's default style, with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.style

    with matplotlib.style.context("default"):
        yield
