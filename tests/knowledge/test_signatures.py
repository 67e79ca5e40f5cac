"""User signature files that are wrong in ways a person makes them wrong."""

from __future__ import annotations

import pytest

from neurosig.datasets import load
from neurosig.errors import InputDataError
from neurosig.tl import score


@pytest.fixture(scope="module")
def tirosh():
    return load("tirosh2016_oligodendroglioma_infercnvpy")


def test_gmt_with_a_duplicated_set_name_is_refused(tirosh, tmp_path):
    """Two GMT lines named HLA-A ended in `KeyError: 'HLA-A'` inside the scorer."""
    gmt = tmp_path / "mine.gmt"
    gmt.write_text(
        "HLA-A\tclass I\tHLA-A\tB2M\tTAP1\nCD8\tT cells\tCD8A\tCD8B\nHLA-A\tagain\tHLA-B\tHLA-C\tB2M\n"
    )
    with pytest.raises(InputDataError, match="set name 'HLA-A' appears on lines 1 and 3"):
        score(tirosh.copy(), str(gmt))


def test_yaml_weight_written_as_text_is_refused(tirosh, tmp_path):
    """A weight `high` ended in `could not convert string to float: 'high'`."""
    path = tmp_path / "mine.yaml"
    path.write_text("MHC_up:\n  HLA-A: high\n  B2M: 1\n  TAP1: 1\n")
    with pytest.raises(InputDataError, match="the weight of HLA-A is 'high', not a number"):
        score(tirosh.copy(), str(path))
    path.write_text("signatures:\n- {id: S, weights: {HLA-A: 1, B2M: 1}}\n- {id: S, genes: [TAP1, B2M]}\n")
    with pytest.raises(InputDataError, match="appear twice"):
        score(tirosh.copy(), str(path))
