"""A self-contained HTML report of one run (figures embedded as PNG data URIs, no scripts).

Sections, each an ``<section id=...>``: ``notices`` (only when the run changed or could
not do something: a fallback resource, dropped cells, unmapped labels, refused
signatures; ``.uns["neurosig"]["notices"]``), ``summary`` (dataset, cells per patient x cell
type), ``coverage`` (genes of each signature found in the data), ``distributions``
(scores by cell type), ``correlations`` (signature correlations in malignant cells),
``states`` (Neftel state map), ``communication`` (axis dot plot and diagram),
``evidence`` (the claims' verdicts and forest plots), ``patients`` (per-patient
neural-immune index) and ``provenance``. A section that cannot be drawn on the data (no
malignant cells, communication not run) says why instead of disappearing.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import anndata as ad
import pandas as pd
import yaml

from .. import _keys
from .._atomic import write_text
from .._resources import signatures_dir
from ..errors import InputDataError, NeurosigError
from ..knowledge import library
from ..pl import (
    axis_diagram,
    communication_dotplot,
    correlation_heatmap,
    forest,
    kaplan_meier,
    neftel_state_map,
    score_distributions,
    verdict_matrix,
)
from ..pl._style import export_style
from ..pl.states import MAX_POINTS as STATE_MAP_POINTS
from ..pp import summary_table
from ..tl import signature_correlations

SECTIONS = {
    "summary": "Dataset",
    "coverage": "Signature coverage",
    "distributions": "Score distributions by cell type",
    "correlations": "Signature correlations in malignant cells",
    "states": "Neftel state map",
    "communication": "Communication along the axis",
    "evidence": "Evidence for the review's claims",
    "survival": "Survival by neural score (bulk cohorts)",
    "patients": "Per-patient neural-immune scores",
    "provenance": "Provenance",
}

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}figure{margin:1em 0}img{max-width:100%}
figcaption,.note{font-size:.85em;color:#555}nav a{margin-right:1em}
.supported{color:#1a7f37}.contradicted{color:#b42318}.negligible{color:#6b7280}
"""


@cache
def report_spec() -> dict[str, Any]:
    """What the report draws (``signatures/report.yaml``)."""
    with open(signatures_dir() / "report.yaml") as fh:
        return yaml.safe_load(fh)


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(fig, alt: str, caption: str = "") -> str:
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{_png(fig)}">{cap}</figure>'


def _table(frame: pd.DataFrame, max_rows: int = 60) -> str:
    note = f'<p class="note">First {max_rows} of {len(frame)} rows.</p>' if len(frame) > max_rows else ""
    return frame.head(max_rows).to_html(index=False, na_rep="", float_format=lambda v: f"{v:.3g}") + note


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _try(draw: Callable[[], str]) -> str:
    """A section's body, or the reason it cannot be drawn on these data."""
    try:
        return draw()
    except NeurosigError as err:
        return _note(f"Not drawn: {err}")


def _notices(adata: ad.AnnData) -> str:
    """What the run changed or could not do (``.uns["neurosig"]["notices"]``), atop the report."""
    items = [str(n) for n in _keys.record(adata).get(_keys.NOTICES, [])]
    if not items:
        return ""
    rows = "".join(f"<li>{html.escape(n)}</li>" for n in items)
    return f'<section id="notices"><h2>Read this first</h2><ul class="notices">{rows}</ul></section>\n'


def _summary(adata: ad.AnnData) -> str:

    meta = _keys.record(adata)
    ds = meta.get("dataset", {})
    lines = [
        f"<p><b>{html.escape(str(meta.get('dataset_id', '')))}</b>: "
        f"{html.escape(str(ds.get('title', '')))}</p>",
        f"<p>{adata.n_obs:,} cells, {adata.obs['patient'].nunique()} patients, {adata.n_vars:,} genes. "
        f"Values: {html.escape(str(meta.get('value_type', '')))}.</p>",
    ]
    citation = ds.get("citation", {})
    if isinstance(citation, dict) and citation.get("text"):
        lines.append(_note(f"{citation['text']} DOI {citation.get('doi', '')}"))
    if "cell_type_source" in adata.obs:
        src = adata.obs["cell_type_source"].astype(str).value_counts()
        lines.append(_note("Cell types from: " + ", ".join(f"{k} ({v})" for k, v in src.items())))
    counts = summary_table(adata)
    counts.columns.name = None
    return "\n".join(lines) + _table(counts)


def _coverage(adata: ad.AnnData) -> str:
    rec = _keys.record(adata).get(_keys.SCORES, {}).get(_keys.SCORE_GENES)
    if rec is None:
        raise InputDataError("signatures were not scored")
    lib = library()
    rows = []
    for sid, cov in sorted(rec["coverage"].items()):
        rows.append(
            {
                "signature": sid,
                "category": lib[sid].category if sid in lib else "",
                "genes": int(cov["n_genes"]),
                "found": int(cov["n_found"]),
                "fraction": float(cov["fraction"]),
                "scored": "no" if sid in rec.get("refused", {}) else "yes",
            }
        )
    table = pd.DataFrame(rows)
    refused = int((table["scored"] == "no").sum())
    head = _note(
        f"{len(table) - refused} of {len(table)} signatures scored; a signature needs at least "
        f"{rec['min_genes']} genes and {rec['min_coverage']:.0%} of its genes in the data."
    )
    return head + _table(table, max_rows=200)


def _distributions(adata: ad.AnnData) -> str:

    sigs = report_spec()["score_distributions"]
    fig = score_distributions(adata, sigs)
    return _figure(
        fig, "score distributions", "score_genes scores per cell, boxes by cell type (no outliers)."
    )


def _correlations(adata: ad.AnnData) -> str:

    spec = report_spec()
    ids = [s.id for s in library().values() if s.category != "cell_marker"]
    scores = adata.obsm.get(_keys.SCORE_GENES)
    if scores is None:
        raise InputDataError("signatures were not scored")
    ids = [s for s in ids if s in pd.DataFrame(scores).columns]
    corr = signature_correlations(
        adata,
        cell_types=spec["correlation_cell_types"],
        signatures=ids,
        min_cells=spec["correlation_min_cells"],
    )
    groups = corr.attrs["groups"]
    ax = correlation_heatmap(corr, title="Spearman rho within patients, averaged (Fisher z)")
    caption = f"Patients with at least {spec['correlation_min_cells']} cells: " + ", ".join(
        f"{g} ({n})" for g, n in groups.items()
    )
    return _figure(ax.figure, "signature correlation heatmap", caption)


def _states(adata: ad.AnnData) -> str:

    ax = neftel_state_map(adata)
    counts = adata.obs["neftel_state"].astype(str)
    counts = counts[counts != "NA"]
    if counts.empty:
        raise InputDataError("no malignant cell has a Neftel state")
    table = pd.crosstab(adata.obs.loc[counts.index, "patient"].astype(str), counts, normalize="index")
    caption = "Malignant cells (Neftel et al. 2019, Fig. 3)."
    if len(counts) > STATE_MAP_POINTS:
        caption += (
            f" A seeded subsample of {STATE_MAP_POINTS:,} of the {len(counts):,} cells is drawn;"
            " the legend and the table count every cell."
        )
    return _figure(ax.figure, "Neftel state map", caption) + _table(
        table.reset_index().rename(columns={"row_0": "patient"})
    )


def _communication(adata: ad.AnnData) -> str:

    comm = _keys.record(adata).get(_keys.COMMUNICATION, {})
    if "table" not in comm:
        raise InputDataError(str(comm.get("not_run", "communication was not inferred")))
    resource = comm.get("parameters", {}).get("resource", "")
    parts = [_note(f"Resource: {resource}. CellPhoneDB's statistical method, over all cells.")]
    for draw, alt in ((communication_dotplot, "axis dot plot"), (axis_diagram, "axis diagram")):
        try:
            parts.append(_figure(draw(adata).figure, alt))
        except NeurosigError as err:
            parts.append(_note(f"{alt} not drawn: {err}"))
    return "\n".join(parts)


#: How a verdict reads in a sentence.
_VERDICT_WORDS = {
    "supported": "supported",
    "contradicted": "contradicted (the effect goes the other way)",
    "negligible": "no effect that matters",
    "inconclusive": "inconclusive",
}


def _answer(row: pd.Series) -> str:
    """One claim's plain-language answer from its pooled row: verdict, effect, n, caveats."""

    def num(key: str) -> float:
        value = pd.to_numeric(row.get(key), errors="coerce")
        return float(value) if pd.notna(value) else float("nan")

    kind = str(row.get("effect_type", "")).split(" (")[0].replace("_", " ")
    units = "tumours" if row.get("data_type") in ("bulk", "multi_region") else "patients"
    verdict = str(row["verdict"])
    words = _VERDICT_WORDS.get(verdict, verdict)
    text = (
        f"<b>{html.escape(str(row['claim']))}</b> ({html.escape(str(row.get('data_type', 'single_cell')))}): "
        f"{html.escape(str(row.get('statement', '')))}: "
        f'<span class="{html.escape(verdict)}">{html.escape(words)}</span>'
        f"; {kind} {num('effect'):+.2f} [{num('ci_low'):+.2f}, {num('ci_high'):+.2f}], "
        f"q {num('qvalue'):.2g}, {int(num('n_patients')) if pd.notna(num('n_patients')) else 0} {units}."
    )
    caveats = []
    adjusted = row.get("adjusted_for")
    if isinstance(adjusted, str) and adjusted.startswith("per dataset"):
        caveats.append("each dataset adjusted for the covariates it has (its row's adjusted_for)")
    elif isinstance(adjusted, str) and adjusted and adjusted != "nan":
        caveats.append(f"adjusted for {adjusted}")
    raw = num("effect_unadjusted")
    if pd.notna(raw):
        caveats.append(f"unadjusted {raw:+.2f}")
    proxy = row.get("proxy")
    if isinstance(proxy, str) and proxy not in ("", "nan", "none"):
        caveats.append(f"neural input read by proxy {proxy}")
    reason = str(row.get("reason", ""))
    if reason.startswith("one testable dataset"):
        caveats.append(reason)
    if caveats:
        text += " Caveats: " + html.escape("; ".join(caveats)) + "."
    return f"<li>{text}</li>"


def _answers(evidence: pd.DataFrame) -> str:
    """The plain-language answer per tested claim, from the pooled rows over all cohorts."""
    pooled = evidence[(evidence["dataset"].astype(str) == "pooled") & evidence["verdict"].ne("not testable")]
    if pooled.empty:
        return ""
    items = "".join(_answer(r) for _, r in pooled.iterrows())
    return f'<h3>Answers, claim by claim</h3><ul class="answers">{items}</ul>'


def _evidence(evidence: pd.DataFrame | None, per_patient: pd.DataFrame | None) -> str:

    if evidence is None:
        raise InputDataError("the claims were not tested")
    cols = ["dataset", "claim", "statement", "level", "expected", "effect", "ci_low", "ci_high"]
    cols += ["pvalue", "qvalue", "n_patients", "verdict", "reason"]
    table = evidence[[c for c in cols if c in evidence]]
    counts = evidence.loc[evidence["dataset"] == "pooled", "verdict"].value_counts()
    parts = [_note("Pooled verdicts: " + ", ".join(f"{k} {v}" for k, v in counts.items()))]
    if evidence["dataset"].astype(str).str.startswith("pooled").sum() and evidence["dataset"].nunique() > 2:
        # several datasets: the matrix of claims x datasets (and data types) opens the section
        ax = verdict_matrix(evidence)
        parts.append(
            _figure(ax.figure, "verdict matrix", "Claims x datasets: colour = verdict, text = effect and n")
        )
        parts.append(_answers(evidence))
    parts.append(_table(table, 400))
    for claim in evidence.loc[evidence["verdict"] != "not testable", "claim"].unique():
        ax = forest(evidence, claim, per_patient=per_patient)
        parts.append(_figure(ax.figure, f"forest plot {claim}", f"Claim {claim}"))
    return "\n".join(parts)


#: The per-sample score the survival curves split at each cohort's median (the S1 claims' x).
SURVIVAL_SCORE = "ssgsea__neural_interaction_composite"


def _survival(samples: pd.DataFrame, min_events: int = 10, columns: int = 3) -> str:
    """Kaplan-Meier curves of every bulk cohort with survival: neural score above vs below its median."""
    import matplotlib.pyplot as plt

    if SURVIVAL_SCORE not in samples or "os_event" not in samples:
        raise InputDataError(f"no bulk cohort with overall survival and {SURVIVAL_SCORE}")
    def one_per_patient(grp: pd.DataFrame) -> pd.DataFrame:
        # the survival level's units: one sample per patient (a primary and its recurrence
        # share the patient's survival), follow-up > 0
        grp = grp[pd.to_numeric(grp["os_months"], errors="coerce") > 0]
        return grp[~grp["patient"].astype(str).duplicated()]

    cohorts = [
        (name, grp)
        for name, grp in samples.groupby("dataset", sort=True, observed=True)
        if pd.to_numeric(one_per_patient(grp)["os_event"], errors="coerce").sum() >= min_events
        and grp[SURVIVAL_SCORE].notna().sum() >= 4
    ]
    if not cohorts:
        raise InputDataError(f"no bulk cohort with {min_events} or more deaths")
    rows = -(-len(cohorts) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for ax, (name, grp) in zip(axes.flat, cohorts, strict=False):
        obs = one_per_patient(grp).reset_index(drop=True)
        obs.index = obs.index.astype(str)
        kaplan_meier(ad.AnnData(obs=obs), SURVIVAL_SCORE, ax=ax)
        ax.set_title(f"{name}\n{ax.get_title()}", fontsize=8)
    for ax in list(axes.flat)[len(cohorts) :]:
        ax.set_visible(False)
    fig.tight_layout()
    caption = (
        f"Overall survival of tumours above vs at or below each cohort's median {SURVIVAL_SCORE} "
        f"(cohorts with {min_events} or more deaths; one sample per patient, as the survival test "
        "counts them); log-rank p unadjusted. The adjusted Cox "
        "estimates are the S1 and S1_high rows of the evidence."
    )
    return _figure(fig, "Kaplan-Meier curves by cohort", caption)


def _patients(scores: pd.DataFrame | None) -> str:
    if scores is None:
        raise InputDataError("no per-patient scores")
    cols = [
        "dataset",
        "patient",
        "n_cells",
        "frac__malignant",
        "malignant__neural_interaction_composite__mean",
    ]
    cols += ["malignant__MHC_I_machinery__mean", "neural_immune_index", "neural_immune_index__n_components"]
    return _note("All columns: patient_scores.csv and its data dictionary.") + _table(
        scores[[c for c in cols if c in scores]], 400
    )


def _provenance(provenance: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in provenance.items()
    )
    return f"<table>{rows}</table>"


def render_report(
    adata: ad.AnnData | None,
    *,
    evidence: pd.DataFrame | None = None,
    per_patient: pd.DataFrame | None = None,
    patient_scores: pd.DataFrame | None = None,
    provenance: dict[str, Any] | None = None,
    title: str = "neurosig report",
    sample_scores: pd.DataFrame | None = None,
) -> str:
    """The report's HTML. With ``adata=None`` (pooled datasets) only evidence, patients, provenance.

    ``sample_scores`` (pooled bulk cohorts, one row per tumour sample) adds Kaplan-Meier
    curves of every cohort with survival.
    """
    bodies: dict[str, Callable[[], str]] = {}
    if adata is not None:
        bodies.update(
            summary=lambda: _summary(adata),
            coverage=lambda: _coverage(adata),
            distributions=lambda: _distributions(adata),
            correlations=lambda: _correlations(adata),
            states=lambda: _states(adata),
            communication=lambda: _communication(adata),
        )
    bodies.update(
        evidence=lambda: _evidence(evidence, per_patient),
    )
    if sample_scores is not None:
        bodies["survival"] = lambda: _survival(sample_scores)
    bodies.update(
        patients=lambda: _patients(patient_scores),
        provenance=lambda: _provenance(provenance or {}),
    )
    notices = _notices(adata) if adata is not None else ""
    nav = " ".join(f'<a href="#{k}">{SECTIONS[k]}</a>' for k in bodies)
    with export_style():  # the same bytes whatever other libraries did to matplotlib's settings
        sections = "\n".join(
            f'<section id="{k}"><h2>{SECTIONS[k]}</h2>\n{_try(draw)}\n</section>'
            for k, draw in bodies.items()
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><h1>{html.escape(title)}</h1><nav>{nav}</nav>\n{notices}{sections}\n</body></html>\n"
    )


def write_report(path: str | Path, html_text: str) -> Path:
    """Write the report atomically."""
    return write_text(path, html_text)
