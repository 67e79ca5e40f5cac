"""The signature library: read in :mod:`neurosig.knowledge.signatures` (re-exported here)."""

from ..knowledge.signatures import (  # noqa: F401 - the score stage's names for the library
    Signature,
    export_gmt,
    from_dict,
    library,
    read_gmt,
    read_yaml,
    resolve,
)
