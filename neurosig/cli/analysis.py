"""``neurosig score|annotate|communicate|test``: one analysis on a dataset id or an .h5ad."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from .. import _keys
from .._atomic import atomic_path
from .._provenance import file_hash
from ..claims import check_independent, data_type_of, pool_evidence
from ..export.communication import write_communication_run
from ..export.evidence import write_evidence_run
from ..pipeline import communicate_cells
from ..score.methods import METHODS
from ..tl import annotate, communicate, score, test_claims
from ._main import MANIFEST_OPTION, _read_input, main


@main.command("score")
@MANIFEST_OPTION
@click.argument("input_")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Output .h5ad.")
@click.option(
    "--method",
    type=click.Choice(list(METHODS)),
    default="score_genes",
    show_default=True,
)
@click.option(
    "--signatures",
    "sigs",
    default=None,
    help="Comma-separated ids, or a .gmt/.yaml file (default: the whole library).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of control-gene sampling.")
@click.option("--min-coverage", type=float, default=0.5, show_default=True)
def score_cmd(input_, out, method, sigs, seed, min_coverage):
    """Score signatures per cell; INPUT is a dataset id or a harmonised .h5ad."""
    adata = _read_input(input_)
    if sigs and not Path(sigs).suffix:
        sigs = [s.strip() for s in sigs.split(",") if s.strip()]
    score(adata, sigs, method=method, seed=seed, min_coverage=min_coverage)
    with atomic_path(out) as tmp:
        adata.write_h5ad(tmp)
    click.echo(f"wrote {out}")


@main.command("annotate")
@MANIFEST_OPTION
@click.argument("input_")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Output .h5ad.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resolution", type=float, default=1.5, show_default=True, help="Leiden resolution.")
@click.option("--reference-key", default=None, help="obs column naming the normal reference cells.")
@click.option(
    "--reference-cat", multiple=True, help="Categories of --reference-key that are normal (repeatable)."
)
@click.option("--no-cnv", is_flag=True, help="Markers only; skip copy-number inference.")
@click.option(
    "--celltypist-model",
    type=click.Path(dir_okay=False),
    default=None,
    help="A CellTypist model file you supply (never downloaded).",
)
def annotate_cmd(input_, out, seed, resolution, reference_key, reference_cat, no_cnv, celltypist_model):
    """Annotate cell types (markers) and malignancy (copy number) where labels are missing."""
    adata = _read_input(input_)
    annotate(
        adata,
        seed=seed,
        resolution=resolution,
        reference_key=reference_key,
        reference_cat=list(reference_cat) or None,
        call_cnv=not no_cnv,
        celltypist_model=celltypist_model,
    )
    with atomic_path(out) as tmp:
        adata.write_h5ad(tmp)
    counts = adata.obs["cell_type_source"].value_counts().to_dict()
    click.echo(f"wrote {out} (labels from: {', '.join(f'{k} {v}' for k, v in counts.items())})")


@main.command("communicate")
@MANIFEST_OPTION
@click.argument("input_")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option(
    "--groupby", default="cell_type", show_default=True, help="obs column of sender/receiver groups."
)
@click.option(
    "--sample-key",
    default="patient",
    show_default=True,
    help="obs column for per-sample tables ('' for none).",
)
@click.option(
    "--resource",
    type=click.Choice(["cellphonedb_v5", "liana_consensus"]),
    default="cellphonedb_v5",
    show_default=True,
)
@click.option("--n-perms", type=int, default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the label shuffles.")
@click.option(
    "--expr-prop", type=float, default=0.1, show_default=True, help="Min. fraction of expressing cells."
)
@click.option(
    "--min-cells", type=int, default=5, show_default=True, help="Smaller groups are skipped and listed."
)
@click.option(
    "--rules",
    type=click.Choice(["cellphonedb", "liana"]),
    default="cellphonedb",
    show_default=True,
    help="CellPhoneDB 5's rules (detection > expr_prop, shuffled mean 0 when a partner is absent, "
    "strict null count) or liana's variant (see docs/communication.md).",
)
@click.option(
    "--complex-null",
    type=click.Choice(["cellphonedb", "liana"]),
    default=None,
    help="Override only how a complex's permuted mean is taken (default: that of --rules).",
)
def communicate_cmd(
    input_, out, groupby, sample_key, resource, n_perms, seed, expr_prop, min_cells, rules, complex_null
):
    """Ligand-receptor communication; INPUT is a dataset id or a harmonised .h5ad."""
    adata = _read_input(input_)
    communicate(
        adata,
        groupby,
        sample_key=sample_key or None,
        resource=resource,
        n_perms=n_perms,
        seed=seed,
        expr_prop=expr_prop,
        min_cells=min_cells,
        rules=rules,
        complex_null=complex_null,
    )
    written = write_communication_run(adata, out, input_)
    for path in written.values():
        click.echo(f"wrote {path}")


@main.command("test")
@MANIFEST_OPTION
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option(
    "--claims", "claims_file", default=None, help="A claims YAML (default: signatures/claims.yaml)."
)
@click.option("--only", default=None, help="Comma-separated claim ids (default: all).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of scoring and shuffles.")
@click.option(
    "--n-perms",
    type=int,
    default=1000,
    show_default=True,
    help="Shuffles when communication must be inferred.",
)
@click.option(
    "--state-covariate",
    default=None,
    help="An .obs column of malignant states (e.g. neftel_state) to adjust cell-level claims for; "
    "the unadjusted estimates stay beside the adjusted ones.",
)
def test_cmd(inputs, out, claims_file, only, seed, n_perms, state_covariate):
    """Test the review's claims on each INPUT (dataset id or .h5ad) and pool them."""
    # refuse overlapping datasets before any work (h5ad inputs are checked again when pooled)
    check_independent([i for i in inputs if not Path(i).suffix])
    tables, per_patient, sources = [], [], {}
    for input_ in inputs:
        adata = _read_input(input_)
        if _keys.COMMUNICATION not in _keys.store(adata) and data_type_of(adata) == "single_cell":
            communicate_cells(adata, seed=seed, n_perms=n_perms)  # bulk data has no cells to pair
        name = str(_keys.record(adata).get(_keys.DATASET_ID, Path(input_).stem))
        extra = {"state_covariate": state_covariate} if state_covariate else {}
        ev = test_claims(
            adata, claims_file, dataset=name, only=only.split(",") if only else None, seed=seed, **extra
        )
        tables.append(ev)
        per_patient.append(adata.uns[_keys.UNS][_keys.CLAIMS]["per_patient"])
        sources[name] = {"input": input_, "sha256": file_hash(input_) if Path(input_).is_file() else ""}
        click.echo(f"{name}: " + ", ".join(f"{k} {v}" for k, v in ev["verdict"].value_counts().items()))
    evidence = pool_evidence(tables)
    written = write_evidence_run(
        evidence,
        pd.concat(per_patient, ignore_index=True),
        out,
        inputs=sources,
        parameters={
            "claims": claims_file or "signatures/claims.yaml",
            "only": only or "",
            "seed": seed,
            "state_covariate": state_covariate or "",
        },
    )
    click.echo(f"wrote {len(written)} files to {out} (evidence.csv, forest/*.png)")
