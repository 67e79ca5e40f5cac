"""The review's axis, added to the communication stage's tables.

Loaded and matched in :mod:`neurosig.knowledge.axis`, and added to the tables by
:func:`add_axis_columns`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..knowledge.axis import claim_ids, on_axis, sender_proxy


def add_axis_columns(table: pd.DataFrame) -> pd.DataFrame:
    """A communication table with the review's axis annotation added (a copy).

    ``sender_proxy`` (after ``ligand_kind``; :func:`sender_proxy`), ``claim`` and
    ``on_axis`` (after ``qvalue``; :func:`claim_ids`, :func:`on_axis`), computed from
    each row's ``ligand_units``, ``ligand_complex`` and ``receptor_units`` as
    :func:`~neurosig.communicate.resources.load_resource` computes them for the resource.
    :func:`~neurosig.communicate.cellphonedb.cellphonedb` computes only; its callers
    (``tl.communicate``, ``cellphonedb_by_sample``) add these columns.
    """
    keys = list(zip(table["ligand_units"], table["ligand_complex"], table["receptor_units"], strict=True))
    unique = pd.DataFrame(
        list(dict.fromkeys(keys)), columns=["ligand", "ligand_complex", "receptor"], dtype=object
    )
    claims = dict(zip(map(tuple, unique.to_numpy()), claim_ids(unique), strict=True))
    out = table.copy()
    out.insert(
        out.columns.get_loc("ligand_kind") + 1,
        "sender_proxy",
        np.array([sender_proxy(lig, cplx) for lig, cplx, _ in keys], dtype=object),
    )
    out.insert(out.columns.get_loc("qvalue") + 1, "claim", np.array([claims[k] for k in keys], dtype=object))
    out.insert(out.columns.get_loc("claim") + 1, "on_axis", on_axis(out))
    return out
