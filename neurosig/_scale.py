"""Where a dataset counts as an atlas, for the choices a run makes to stay within memory.

Above :data:`ATLAS_CELLS` cells, ``neurosig run`` holds one copy of the expression
matrix (the log-normalised ``X``; a counts layer, which no stage after harmonise reads,
is not kept) and writes ``cells.h5ad`` with every result but without the matrix, unless
asked (``--write-cells``), and cells without author labels are annotated on a seeded
subsample of :data:`SUBSAMPLE_CELLS` cells, the others placed in one streamed pass
(:mod:`neurosig.annotate.atlas`). Below it, everything is kept and written, and every
cell is annotated, as always.
"""

from __future__ import annotations

ATLAS_CELLS = 100_000
"""Cells above which a run keeps and writes one copy of the matrix only (docs/scale.md)."""


def keep_matrix(n_cells: int, write_cells: bool | None) -> bool:
    """Whether a run keeps the counts layer and writes the matrix to ``cells.h5ad``.

    ``write_cells`` decides when given; otherwise datasets up to :data:`ATLAS_CELLS` keep it.

    Examples
    --------
    >>> keep_matrix(184, None), keep_matrix(200_000, None), keep_matrix(200_000, True)
    (True, False, True)
    """
    return bool(write_cells) if write_cells is not None else n_cells <= ATLAS_CELLS


SUBSAMPLE_CELLS = 50_000
"""Cells an atlas without labels is embedded, clustered and copy-number profiled on (docs/scale.md)."""
