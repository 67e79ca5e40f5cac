"""The review's axis: loaded and matched in :mod:`neurosig.knowledge.axis` (re-exported here)."""

from ..knowledge.axis import (  # noqa: F401 - the communicate stage's names for the axis
    AXIS_FILE,
    claim_ids,
    load_axis,
    metabolite_name,
    on_axis,
    on_axis_of,
    sender_proxy,
)
