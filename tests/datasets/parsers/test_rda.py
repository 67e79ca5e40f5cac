"""R .rda holding a dgCMatrix, on the real MGH136 file."""

from __future__ import annotations

import numpy as np
import pytest

from neurosig.datasets.parsers import run_parser
from neurosig.errors import ParseError

from ...conftest import needs_mirror


@needs_mirror
def test_mgh136_dgcmatrix(mirror):
    a = run_parser("rda_dgcmatrix", {"rda": mirror / "neftel2019_gbm" / "MGH136.rda"})
    assert a.shape == (229, 6954) and a.X.nnz == 852765
    assert a.obs_names[0] == "MGH136-P1-A02" and a.var_names[0] == "A2M"
    assert 0 < a.X.data.min() and a.X.data.max() < 17  # log2(TPM/10+1)
    # the first cell's first non-zero values are the dgCMatrix's first x slots
    np.testing.assert_allclose(a.X[0].data[:2], [2.34766566, 5.03192446], rtol=1e-6)


def test_not_an_rda(tmp_path):
    path = tmp_path / "x.rda"
    path.write_bytes(b"not R data")
    with pytest.raises(ParseError, match="not a readable R data file"):
        run_parser("rda_dgcmatrix", {"rda": path})
