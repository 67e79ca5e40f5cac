"""The tumour classifiers' sets are the published files' (ESTIMATE, Wang 2017)."""

from __future__ import annotations

import pytest

from neurosig.knowledge.tumour import estimate_signatures, tumour_classifiers, wang2017_signatures

from ..conftest import MIRROR

REFERENCE = MIRROR.parent / "reference" / "bulk"


def test_sizes_and_parameters():
    est = {s.id: s for s in estimate_signatures()}
    assert {k: len(s.genes) for k, s in est.items()} == {"ESTIMATE_stromal": 141, "ESTIMATE_immune": 141}
    assert est["ESTIMATE_stromal"].genes[:3] == ["DCN", "PAPPA", "SFRP4"]  # SI_geneset row order
    wang = wang2017_signatures()
    assert [s.id for s in wang] == ["Proneural", "Classical", "Mesenchymal"]
    assert all(len(s.genes) == 70 for s in wang)
    for rec in tumour_classifiers()["wang2017"]["subtypes"].values():
        assert (rec["sample_norm_type"], rec["statistic"], rec["weight"]) == ("rank", "area.under.RES", 0.25)


def test_built_from_the_reference_files():
    if not (REFERENCE / "SHA256SUMS").is_file():
        pytest.skip("reference/bulk not found beside the mirror")
    sums = dict(line.split()[::-1] for line in (REFERENCE / "SHA256SUMS").read_text().splitlines())
    for name, rec in tumour_classifiers()["wang2017"]["subtypes"].items():
        assert rec["sha256"] == sums[f"{name}.mod"]
        first = (REFERENCE / f"{name}.mod").read_text().split("msig.up.genes")[1].split("'")[1]
        assert rec["genes"][0] == first
    assert sums["SI_geneset.RData"] in tumour_classifiers()["estimate"]["read_from"]
