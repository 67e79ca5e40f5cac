"""Progress outside a terminal: a line at the start and one every few percent, never a flood."""

from __future__ import annotations

from neurosig._progress import progress


def test_log_gets_a_line_every_ten_percent(capsys):
    assert list(progress(range(1000), desc="scoring")) == list(range(1000))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 11  # the start, then 10%, 20%, ... 100%
    assert lines[0] == "scoring: 1000 chunks ..." and lines[-1].startswith("scoring: 100% (1000/1000 chunks")
    assert "\r" not in "".join(lines)


def test_few_items_and_disabled(capsys):
    assert list(progress(range(3), desc="x")) == [0, 1, 2]
    assert len(capsys.readouterr().err.splitlines()) == 4  # 33%, 67%, 100% each pass a 10% step
    assert list(progress(iter([1, 2]), desc="y", disable=True)) == [1, 2]
    assert capsys.readouterr().err == ""
