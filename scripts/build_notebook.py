"""Write and execute notebooks/signature_correlations.ipynb (the committed copy keeps its outputs).

    python scripts/build_notebook.py

The test suite executes the notebook again (tests/test_notebooks.py), so it cannot rot.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

CELLS = [
    (
        "markdown",
        """# Signature correlations in malignant cells

Does neural input to glioma cells go with weaker antigen presentation (CLAIMS.md, claim A1)?
This notebook explores it on neurosig's default dataset (Tirosh et al. 2016, 184
oligodendroglioma cells; from the data mirror, else the copy in the `infercnvpy` wheel)
with the Python API: load, score every library signature, correlate the scores **within
each patient** (cells of one tumour are not replicates of another's), and look at the
Neftel states. Run it with `jupyter lab` after `pip install 'neurosig[notebook]'`.""",
    ),
    (
        "code",
        """import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
import neurosig as ns

adata = ns.datasets.load(ns.datasets.default_dataset(), progress=False)
print(adata)
adata.obs.groupby(["patient", "cell_type"], observed=True).size().unstack(fill_value=0)""",
    ),
    (
        "markdown",
        """Score the whole library with scanpy's `score_genes` method (seeded). Signatures with too
few of their genes in the data are refused, not scored on a fraction of their genes:
the refusals are recorded in `.uns`.""",
    ),
    (
        "code",
        """with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # refused low-coverage signatures are listed below
    scores = ns.tl.score(adata, None, method="score_genes", seed=0)
refused = adata.uns["neurosig"]["scores"]["neurosig_score_genes"]["refused"]
print(f"{scores.shape[1]} signatures scored; {len(refused)} refused for coverage")""",
    ),
    (
        "markdown",
        """Spearman correlations between signatures in malignant cells, computed within each
patient with at least 20 malignant cells and averaged on Fisher's z scale.""",
    ),
    (
        "code",
        """lib = ns.knowledge.library()
axis = [s for s in scores.columns if lib[s].category != "cell_marker"]
corr = ns.tl.signature_correlations(adata, signatures=axis, cell_types=["malignant"], min_cells=20)
print("patients (malignant cells):", corr.attrs["groups"])
ax = ns.pl.correlation_heatmap(corr, title="Malignant cells, within-patient Spearman")""",
    ),
    (
        "markdown",
        """The A1 question: how does the neural-interaction score (proxy P1) relate to MHC-I
machinery, patient by patient? A claim's verdict needs the patient as the unit; the
claims engine (`ns.tl.test_claims`) pools these per-patient estimates by random-effects
meta-analysis.""",
    ),
    (
        "code",
        """from scipy import stats

mal = adata[adata.obs["cell_type"] == "malignant"]
frame = mal.obsm["neurosig_score_genes"][["neural_interaction_composite", "MHC_I_machinery"]]
per_patient = {
    patient: stats.spearmanr(f["neural_interaction_composite"], f["MHC_I_machinery"]).statistic
    for patient, f in frame.groupby(mal.obs["patient"].astype(str), observed=True)
    if len(f) >= 20
}
for patient, rho in per_patient.items():
    print(f"{patient}: rho = {rho:+.3f}")
print(f"averaged (Fisher z): {corr.loc['neural_interaction_composite', 'MHC_I_machinery']:+.3f}")""",
    ),
    (
        "markdown",
        """Signatures most correlated with neural interaction in these malignant cells:""",
    ),
    (
        "code",
        """corr["neural_interaction_composite"].drop("neural_interaction_composite").sort_values().tail(8).round(3)""",
    ),
    (
        "markdown",
        """Neftel et al. (2019) cellular states of the malignant cells, on their two-dimensional map.""",
    ),
    (
        "code",
        """states = ns.tl.neftel_states(adata, key="neurosig_score_genes")
ax = ns.pl.neftel_state_map(adata)
adata.obs.loc[adata.obs["cell_type"] == "malignant", "neftel_state"].value_counts()""",
    ),
]


def build(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [make[kind](text) for kind, text in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 600) -> nbformat.NotebookNode:
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return nb


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    out = Path(__file__).resolve().parent.parent / "notebooks" / "signature_correlations.ipynb"
    nb = execute(build(out), out.parent)
    nbformat.write(nb, out)
    print(f"wrote {out}")
