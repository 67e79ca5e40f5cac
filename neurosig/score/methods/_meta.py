"""The metadata record every scoring method module defines next to its kernel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp


def _no_linear_values(params: dict) -> bool:
    return False


@dataclass(frozen=True)
class MethodMeta:
    """One scoring method: its kernel and what the engine needs to know to run it.

    ``kind`` says which of the engine's runners drives the kernel:

    - ``"linear"``: ``func(sig_weights, var_names, stats, *, random_state, **params)``
      returns a weight matrix (genes x signatures), an offset per signature and a
      details record per signature; the engine computes ``X @ W - offset`` in one pass.
    - ``"moments"``: ``func(xw, rowsum, rowsq, w, n)`` turns ``X @ W`` and the row
      moments of X (over detected genes) into scores.
    - ``"rank"``: ``prepare(sig_weights, var_names, detected, **params)`` returns
      ``(score_chunk, details)``, where ``score_chunk(dense)`` scores a dense chunk of
      cells for every signature and ``detected()`` runs the pass that finds the genes
      detected in any cell (called only by methods that need it).
    """

    name: str
    kind: str
    func: Callable
    desc: str
    reference: str
    needs: str  # the values it expects (checked on the first chunk for linear methods)
    weighted: bool = False  # takes signature weights other than +1/-1
    seeded: bool = False  # draws (control genes) depend on random_state
    prepare: Callable | None = None  # rank methods: see above
    needs_linear: Callable[[dict], bool] = field(default=_no_linear_values)  # wants linear_mean


def membership(sig_weights: list[dict[str, float]], var_names: pd.Index, sign: int) -> sp.csc_matrix:
    """Genes x sets 0/1 matrix: all genes (sign 0), or those with positive / negative weight."""
    pos = pd.Series(np.arange(len(var_names)), index=var_names)
    rows, cols = [], []
    for j, sw in enumerate(sig_weights):
        genes = [g for g, w in sw.items() if sign == 0 or np.sign(w) == sign]
        rows.append(pos[genes].to_numpy(dtype=np.int64))
        cols.append(np.full(len(genes), j))
    rows_a, cols_a = np.concatenate(rows), np.concatenate(cols)
    return sp.csc_matrix((np.ones(len(rows_a)), (rows_a, cols_a)), shape=(len(var_names), len(sig_weights)))
