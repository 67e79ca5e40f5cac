"""Write the communication results of one AnnData to a folder (CSV tables and figures)."""

from __future__ import annotations

import json
from pathlib import Path

import anndata as ad

from .. import _keys
from .._atomic import atomic_path, write_text
from .._outdir import own_folder
from .._provenance import file_hash, to_plain, write_provenance
from ..pl import axis_diagram, communication_dotplot
from ..pl._style import export_style

TABLES = {
    "interactions.csv": "table",
    "interactions_by_patient.csv": "by_sample",
    "cp_ampar.csv": "cp_ampar",
    "cp_ampar_by_patient.csv": "cp_ampar_by_sample",
}


def write_communication(adata: ad.AnnData, out: str | Path, figures: bool = True) -> dict[str, Path]:
    """Write the tables in ``.uns["neurosig"]["communication"]`` (and two figures) to ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    store = _keys.record(adata).get(_keys.COMMUNICATION)
    paths: dict[str, Path] = {}
    if store is None:
        return paths
    for name, key in TABLES.items():
        if key in store:
            with atomic_path(out / name) as tmp:
                store[key].to_csv(tmp, index=False, float_format="%.6g")
            paths[name] = out / name
    meta = {k: v for k, v in store.items() if not hasattr(v, "to_csv")}
    text = json.dumps(to_plain(meta), indent=1, sort_keys=True)
    paths["communication.json"] = write_text(out / "communication.json", text)
    if figures and "table" in store:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        with export_style():
            for name, fn in (
                ("communication_dotplot.png", communication_dotplot),
                ("axis_diagram.png", axis_diagram),
            ):
                ax = fn(store["table"])
                with atomic_path(out / name) as tmp:
                    ax.figure.savefig(tmp, dpi=110, format="png")
                plt.close(ax.figure)
                paths[name] = out / name
    return paths


def write_communication_run(adata: ad.AnnData, out: str | Path, input_: str) -> dict[str, Path]:
    """``neurosig communicate``'s folder: :func:`write_communication` and its ``provenance.json``.

    ``input_`` is what the command was given (a dataset id, or a file whose hash is recorded).
    """
    with own_folder(out):
        written = write_communication(adata, out)
        source = {"input": input_}
        if Path(input_).is_file():
            source["sha256"] = file_hash(input_)
        written["provenance.json"] = write_provenance(
            out,
            written,
            source=source,
            input_files=_keys.record(adata).get(_keys.FILES, {}),
            parameters=adata.uns[_keys.UNS][_keys.COMMUNICATION]["parameters"],
        )
    return written
