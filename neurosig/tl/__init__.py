"""Tools that compute results into the AnnData (scanpy's ``tl`` namespace)."""

from ..annotate.annotate import annotate
from ..annotate.glioma_states import neftel_states
from ..claims.engine import test_claims
from ..communicate.infer import communicate
from ..score.correlation import signature_correlations
from ..score.engine import score
from ..score.pseudobulk import score_pseudobulk
from ..score.samples import score_samples
from ..score.summary import score_summary

__all__ = [
    "signature_correlations",
    "annotate",
    "communicate",
    "neftel_states",
    "score",
    "score_pseudobulk",
    "score_samples",
    "score_summary",
    "test_claims",
]
