"""Write the evidence of one or several datasets: evidence.csv, per-patient estimates, forests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .._atomic import atomic_path
from .._outdir import own_folder
from .._provenance import write_provenance
from ..pl import forest
from ..pl._style import export_style


def write_evidence(evidence: pd.DataFrame, per_patient: pd.DataFrame, out: str | Path) -> dict[str, Path]:
    """``evidence.csv``, ``evidence_per_patient.csv`` and ``forest/<claim>.png`` per testable claim."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, table in (("evidence.csv", evidence), ("evidence_per_patient.csv", per_patient)):
        with atomic_path(out / name) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")
        paths[name] = out / name
    testable = evidence.loc[evidence["verdict"] != "not testable", "claim"].unique()

    with export_style():
        for claim in testable:
            ax = forest(evidence, claim, per_patient=per_patient)
            name = f"forest/{claim}.png"
            (out / "forest").mkdir(exist_ok=True)
            with atomic_path(out / name) as tmp:
                ax.figure.savefig(tmp, dpi=100, format="png")
            plt.close(ax.figure)
            paths[name] = out / name
    return paths


def write_evidence_run(
    evidence: pd.DataFrame, per_patient: pd.DataFrame, out: str | Path, *, inputs: dict, parameters: dict
) -> dict[str, Path]:
    """``neurosig test``'s folder: :func:`write_evidence` and its ``provenance.json``."""
    with own_folder(out):
        written = write_evidence(evidence, per_patient, out)
        written["provenance.json"] = write_provenance(out, written, inputs=inputs, parameters=parameters)
    return written
