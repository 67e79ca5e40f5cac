"""What neurosig knows, read from ``signatures/`` (like decoupler's ``op``).

One room for the loaders of the cited YAML files, and their checks: the signature
library (:func:`library`, :func:`resolve`), the cell-type vocabulary
(:func:`vocabulary`, :func:`map_label`), the review's communication axis
(:func:`load_axis` and its matching rules), the claims (:func:`load_claims`) and the
per-patient table's specification (:func:`patient_score_spec`). This package sits low
in the layers (it imports only the base modules), so every stage can read it.
"""

from .axis import claim_ids, load_axis, metabolite_name, on_axis, on_axis_of, sender_proxy
from .claims import load_claims, validate_claims
from .patient_scores import patient_score_spec
from .signatures import Signature, export_gmt, from_dict, library, read_gmt, read_yaml, resolve
from .vocabulary import lineage_of, map_label, vocabulary

__all__ = [
    "Signature",
    "claim_ids",
    "export_gmt",
    "from_dict",
    "library",
    "lineage_of",
    "load_axis",
    "load_claims",
    "map_label",
    "metabolite_name",
    "on_axis",
    "on_axis_of",
    "patient_score_spec",
    "read_gmt",
    "read_yaml",
    "resolve",
    "sender_proxy",
    "validate_claims",
    "vocabulary",
]
