"""The HTML report: its sections and figures, checked in a real headless browser (Chromium)."""

from __future__ import annotations

import os

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from neurosig.export.report import SECTIONS, render_report
from neurosig.tl import signature_correlations

from .browser import check_page, chromium

#: The sections of a single-cell run's report ("survival" is drawn for pooled bulk cohorts).
RUN_SECTIONS = [s for s in SECTIONS if s != "survival"]

needs_browser = pytest.mark.skipif(
    chromium() is None and not os.environ.get("NEUROSIG_REQUIRE_BROWSER"),
    reason="Chromium not installed (apt-get install chromium; CI sets NEUROSIG_REQUIRE_BROWSER=1)",
)


def test_report_has_every_section_with_figures(default_run):
    html = (default_run / "report.html").read_text()
    for section in RUN_SECTIONS:
        assert f'<section id="{section}">' in html
    assert "Not drawn" not in html  # the default dataset has malignant cells, states, communication
    assert html.count("data:image/png;base64,") >= 6
    assert "<script" not in html and "http://" not in html and "https://" not in html  # self-contained


@needs_browser
def test_report_loads_in_chromium_without_errors(default_run, tmp_path):
    page = check_page(default_run / "report.html", tmp_path)
    # the Tirosh mirror's 10,338 genes leave 30 signatures unscored: said first, "Read this first"
    assert page["sections"] == ["notices", *RUN_SECTIONS]
    assert len(page["images"]) >= 6
    broken = [
        alt for alt, complete, width, height in page["images"] if not (complete and width > 0 and height > 0)
    ]
    assert broken == []
    assert page["errors"] == [] and page["console"] == []


@needs_browser
def test_browser_check_catches_a_broken_page(tmp_path):
    # the check itself must fail on what it is meant to catch: a broken image, a console error
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><title>x</title></head><body><section id="a"></section>'
        '<img alt="broken" src="data:image/png;base64,AAAA">'
        '<script>console.error("boom")</script></body></html>'
    )
    page = check_page(bad, tmp_path)
    assert page["sections"] == ["a"]
    assert page["images"][0][2] == 0  # natural width 0: not decoded
    assert any("boom" in e for e in page["errors"]) and any("failed to load IMG" in e for e in page["errors"])


def test_sections_explain_what_cannot_be_drawn(default_run):
    a = ad.read_h5ad(default_run / "cells.h5ad")
    del a.uns["neurosig"]["communication"]
    a.obs["neftel_state"] = "NA"
    html = render_report(a)
    assert "Not drawn: communication was not inferred" in html
    assert "Not drawn: the claims were not tested" in html
    assert 'id="states"' in html and "no malignant cell has a Neftel state" in html


def test_signature_correlations_are_within_patient_fisher_averages(default_run):
    a = ad.read_h5ad(default_run / "cells.h5ad")
    sigs = ["neural_interaction_composite", "MHC_I_machinery", "Neftel2019_OPC"]
    corr = signature_correlations(a, signatures=sigs, min_cells=20)
    scores = pd.DataFrame(a.obsm["neurosig_score_genes"], index=a.obs_names)[sigs]
    mal = (a.obs["cell_type"] == "malignant").to_numpy()
    z, w = 0.0, 0.0
    for _, s in scores[mal].groupby(a.obs.loc[mal, "patient"].astype(str).to_numpy()):
        if len(s) >= 20:
            rho = sps.spearmanr(s.iloc[:, 0], s.iloc[:, 1]).statistic
            z += (len(s) - 3) * np.arctanh(rho)
            w += len(s) - 3
    assert corr.iloc[0, 1] == pytest.approx(np.tanh(z / w), abs=1e-10)
    assert sum(corr.attrs["groups"].values()) <= mal.sum()
    pooled = signature_correlations(a, signatures=sigs, groupby=None)
    assert pooled.iloc[0, 1] == pytest.approx(
        sps.spearmanr(scores[mal].iloc[:, 0], scores[mal].iloc[:, 1]).statistic
    )


def test_report_bytes_do_not_depend_on_global_matplotlib_settings(default_run):
    # importing some libraries changes matplotlib's legend settings; exported figures must not follow
    import matplotlib as mpl

    a = ad.read_h5ad(default_run / "cells.h5ad")
    before = render_report(a)
    with mpl.rc_context({"legend.frameon": False, "legend.borderpad": 0.0, "lines.linewidth": 5.0}):
        assert render_report(a) == before


@needs_browser
def test_pooled_report_draws_survival_of_bulk_cohorts(tmp_path):
    """Pooled bulk cohorts get one Kaplan-Meier panel per cohort with 10 or more deaths, one
    sample per patient (as the survival test counts them)."""
    from neurosig.export.report import SURVIVAL_SCORE

    from ..claims.bulk_inputs import simulated_cohort

    rows = []
    for seed, n in ((0, 80), (1, 60), (3, 70), (2, 12)):  # the last cohort has fewer than 10 deaths
        a = simulated_cohort(n, seed, hazard=0.8)
        t = a.obs.assign(dataset=f"sim{seed}")
        t[SURVIVAL_SCORE] = a.obsm["sim_scores"].iloc[:, 0].to_numpy()
        if n == 12:
            t["os_event"] = [1.0] * 5 + [0.0] * 7
        rows.append(t)
    # 7 patients with two samples each (a primary and its recurrence), all died: 14 samples
    # but 7 deaths, so one sample per patient leaves this cohort out too
    twice = simulated_cohort(7, 4).obs.assign(dataset="sim4", os_event=1.0)
    twice[SURVIVAL_SCORE] = np.arange(7.0)
    rows.append(pd.concat([twice, twice.assign(sample=twice["sample"].astype(str) + "_rec")]))
    samples = pd.concat(rows, ignore_index=True)
    html = render_report(None, evidence=None, sample_scores=samples, title="pooled")
    section = html[html.index('<section id="survival">') : html.index('<section id="patients">')]
    assert section.count("<img") == 1 and "Kaplan-Meier curves by cohort" in section
    assert "10 or more deaths" in section
    (tmp_path / "r.html").write_text(html)
    page = check_page(tmp_path / "r.html", tmp_path)
    assert "survival" in page["sections"] and page["errors"] == [] and page["console"] == []
    km = [img for img in page["images"] if img[0] == "Kaplan-Meier curves by cohort"]
    assert km and km[0][1] and km[0][2] > 0
    # three cohorts qualify: one row of the 3-column grid (four would take a second row)
    assert abs(km[0][3] / km[0][2] - 3.2 / 12.6) < 0.05
    # without bulk samples the section is absent (single-cell pooled reports are unchanged)
    assert '<section id="survival">' not in render_report(None, evidence=None, title="x")
