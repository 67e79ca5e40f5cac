"""The pipeline's stages on data that cannot do everything: what they refuse, what they say."""

from __future__ import annotations

import pytest

from neurosig import _keys
from neurosig.communicate import resources
from neurosig.datasets import load
from neurosig.errors import HashMismatchError, InputDataError
from neurosig.export.report import render_report
from neurosig.pipeline import annotate_if_needed, communicate_cells, score_cells


@pytest.fixture(scope="module")
def tirosh():
    return load("tirosh2016_oligodendroglioma_infercnvpy")


@pytest.fixture
def resource_cache():
    resources._load_cached.cache_clear()
    yield
    resources._load_cached.cache_clear()


def test_a_cellphonedb_file_failing_its_checksum_stops_the_run(tirosh, tmp_path, monkeypatch, resource_cache):
    """It used to count as 'not available': the run switched to liana's resource and exited 0."""
    bad = tmp_path / "cellphonedb_v5"
    bad.mkdir()
    for name in ("interaction_input.csv", "complex_input.csv", "gene_input.csv"):
        (bad / name).write_text("partner_a,partner_b\nA,B\n")
    monkeypatch.setenv("NEUROSIG_MIRRORS", str(tmp_path))
    with pytest.raises(HashMismatchError, match="sha256 mismatch"):
        communicate_cells(tirosh.copy(), n_perms=20)


def test_a_missing_cellphonedb_falls_back_and_says_so_atop_the_report(tirosh, monkeypatch, resource_cache):
    monkeypatch.setenv("NEUROSIG_MIRRORS", "")  # offline, no mirror, empty cache: the file is missing
    adata = tirosh.copy()
    with pytest.warns(UserWarning, match="liana's consensus resource instead"):
        communicate_cells(adata, n_perms=20)
    assert _keys.record(adata)[_keys.COMMUNICATION]["parameters"]["resource"] == "liana_consensus"
    html = render_report(adata)
    top = html.index('<section id="notices">')
    assert top < html.index('<section id="summary">') and "CellPhoneDB v5 is not available" in html[top:]


@pytest.mark.parametrize("n_perms", [-5, 1, 2.5])
def test_a_number_of_shuffles_without_a_valid_p_value_is_refused(tirosh, n_perms):
    """-5 or 1 used to give every pair p = 0; then the check made communication silently not run."""
    adata = tirosh.copy()
    with pytest.raises(InputDataError, match="at least 2"):
        communicate_cells(adata, n_perms=n_perms)
    assert _keys.COMMUNICATION not in _keys.record(adata)


def test_communication_is_not_inferred_on_centred_values(tirosh):
    """z-scored data declared centred_log went into communication: negative mean expression."""
    adata = tirosh.copy()
    adata.uns["neurosig"]["value_type"] = "centred_log"
    with pytest.warns(UserWarning, match="centred per gene"):
        communicate_cells(adata, n_perms=20)
    assert "centred per gene" in _keys.record(adata)[_keys.COMMUNICATION]["not_run"]
    # the refusal lives in tl.communicate itself: the Python API and the CLI meet it too
    from neurosig.errors import InputDataError
    from neurosig.tl import communicate

    with pytest.raises(InputDataError, match="centred per gene"):
        communicate(adata, "cell_type", n_perms=20)


def test_cells_markers_cannot_annotate_stay_unknown(tirosh):
    """One unlabelled cell in a sample too small for marker annotation used to stop the run."""
    adata = tirosh[:15].copy()
    adata.obs["cell_type"] = adata.obs["cell_type"].astype(str)
    adata.obs.loc[adata.obs_names[0], "cell_type"] = "unknown"
    with pytest.warns(UserWarning, match="1 of 15 cells without an author label stay 'unknown'"):
        annotate_if_needed(adata)
    assert list(adata.obs["cell_type_source"].astype(str)).count("none") == 1
    assert (adata.obs["cell_type"].astype(str) == "unknown").sum() == 1


def test_refused_signatures_are_summed_up(tirosh):
    """An HVG subset scored 6 of 73 signatures without saying why."""
    adata = tirosh[:, tirosh.X.toarray().var(axis=0).argsort()[-500:]].copy()
    with pytest.warns(UserWarning, match=r"signatures not scored: too few of their genes.*500 genes"):
        score_cells(adata)
    notices = _keys.record(adata)[_keys.NOTICES]
    assert len(notices) == 1 and "coverage table" in notices[0]
