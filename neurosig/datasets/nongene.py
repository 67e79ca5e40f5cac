"""Rows of a count matrix that are not genes (read-counter summary rows).

HTSeq, STAR and featureCounts append rows such as ``__no_feature`` or
``N_unmapped`` to their count tables. Left in, they become a large part of every
cell's library size and distort every normalised value. The names and patterns live
in ``signatures/non_gene_rows.yaml`` with their sources.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np
import scipy.sparse as sp
import yaml

from .._resources import signatures_dir
from ..errors import InputDataError


@cache
def non_gene_rules() -> dict[str, Any]:
    """Names, patterns and the refusal threshold of ``signatures/non_gene_rows.yaml``."""
    return yaml.safe_load((signatures_dir() / "non_gene_rows.yaml").read_text())


def is_non_gene(names) -> np.ndarray:
    """Boolean mask: which row names are read-counter summary rows, not genes."""
    rules = non_gene_rules()
    exact = set(rules["names"])
    patterns = [re.compile(p) for p in rules["patterns"]]
    return np.array([str(n) in exact or any(p.search(str(n)) for p in patterns) for n in names], dtype=bool)


def shares(mat, mask: np.ndarray) -> dict[str, float]:
    """Median and largest share of each cell's total held by the masked columns together.

    ``mat`` is cells x features on a linear scale.
    """
    total, part = row_parts(mat, mask)
    return share_summary(total, part)


def row_parts(mat, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's total and the part of it in the masked columns (float64; row by row)."""
    total = np.asarray(mat.sum(axis=1), dtype=np.float64).ravel()
    sub = mat[:, np.flatnonzero(mask)]
    part = np.asarray(sub.sum(axis=1), dtype=np.float64).ravel() if sp.issparse(sub) else sub.sum(axis=1)
    return total, np.asarray(part, dtype=np.float64)


def share_summary(total: np.ndarray, part: np.ndarray) -> dict[str, float]:
    """Median and largest share ``part / total`` over the rows (rows with no total count 0)."""
    frac = np.divide(part, total, out=np.zeros_like(total), where=total > 0)
    if frac.size == 0:
        return {"median_share": 0.0, "max_share": 0.0}
    return {"median_share": float(np.median(frac)), "max_share": float(frac.max())}


def refuse_non_gene_rows(mat, var_names, source: str) -> None:
    """Raise when summary rows left in the matrix hold a large share of the counts.

    Parameters
    ----------
    mat
        Cells x features, linear scale.
    var_names
        Feature names.
    source
        Named in the message (dataset id or file).
    """
    mask = is_non_gene(var_names)
    if not mask.any():
        return
    refuse_non_gene_share(shares(mat, mask), var_names, source)


def refuse_non_gene_share(share: dict[str, float], var_names, source: str) -> None:
    """Raise when :func:`shares` says the summary rows hold more than the rules allow."""
    mask = is_non_gene(var_names)
    limit = non_gene_rules()["max_share"]
    if share["median_share"] > limit:
        names = [str(n) for n, m in zip(var_names, mask, strict=True) if m]
        raise InputDataError(
            f"{source}: rows {names[:6]} are read-counter summary rows (HTSeq/STAR/"
            f"featureCounts), not genes, and hold {share['median_share']:.0%} of a median "
            "cell's total, which would distort every normalised value. Remove them before "
            "loading (the dense_matrix parser drops them by name: drop_summary_rows: true)."
        )
