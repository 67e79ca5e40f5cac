"""The ``neurosig`` command line: ``datasets list|info|fetch|parsers`` and ``run``."""

from __future__ import annotations

import json
import logging
import sys

import click

from . import _keys
from ._version import __version__
from .errors import NeurosigError
from .score.methods import METHODS


class _Group(click.Group):
    """Show neurosig's own errors as one clear line, not a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NeurosigError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="neurosig")
@click.option("-v", "--verbose", is_flag=True, help="Log progress details.")
def main(verbose: bool) -> None:
    """neurosig: test the neuron -> immune -> tumour axis of glioma on public single-cell data."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@main.group(cls=_Group)
def datasets() -> None:
    """Public glioma datasets in the manifest."""


@datasets.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def datasets_list(fmt: str) -> None:
    """List datasets with their verification state and offline availability."""
    from .datasets import list_datasets

    table = list_datasets()
    if fmt == "json":
        click.echo(json.dumps(json.loads(table.to_json(orient="records")), indent=1))
    else:
        cols = ["id", "technology", "value_type", "n_cells", "verification", "available_offline"]
        click.echo(table[cols].astype(object).where(table[cols].notna(), "").to_string(index=False))


@datasets.command("info")
@click.argument("dataset_id")
def datasets_info(dataset_id: str) -> None:
    """Show one dataset's manifest entry and where its files would be read from."""
    from .datasets import info

    click.echo(json.dumps(info(dataset_id), indent=1))


@datasets.command("fetch")
@click.argument("dataset_id")
@click.option("--force", is_flag=True, help="Fetch again even if cached.")
def datasets_fetch(dataset_id: str, force: bool) -> None:
    """Download (or find in a mirror) and verify a dataset's files."""
    from .datasets import fetch_dataset

    for name, path in fetch_dataset(dataset_id, force=force).items():
        click.echo(f"{name}\t{path}")


@datasets.command("parsers")
def datasets_parsers() -> None:
    """List the file-format parsers the manifest can use."""
    from .datasets.parsers import PARSERS

    for p in PARSERS.values():
        click.echo(f"{p.name:24s} {p.kind:7s} {p.desc}")


#: Where a run's cells come from: a manifest id, or a user h5ad and how to read it.
SOURCE_OPTIONS = [
    click.option(
        "--dataset",
        "dataset",
        default=None,
        help="Manifest dataset id (default: Tirosh 2016 from the mirror, else the infercnvpy copy).",
    ),
    click.option(
        "--input",
        "input_path",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="Your own .h5ad instead of a manifest dataset.",
    ),
    click.option("--patient-key", default=None, help="obs column with the patient id (with --input)."),
    click.option("--label-key", default=None, help="obs column with cell-type labels (with --input)."),
    click.option("--sample-key", default=None, help="obs column with the sample id (with --input)."),
    click.option(
        "--value-type",
        default=None,
        type=click.Choice(["counts", "tpm", "cpm", "log2_tpm10", "log1p_cp10k", "centred_log"]),
        help="Scale of the input values (with --input; default: detect counts).",
    ),
]


def _with(options):
    """Apply a list of click options in order."""

    def wrap(f):
        for option in reversed(options):
            f = option(f)
        return f

    return wrap


@main.command("run")
@_with(SOURCE_OPTIONS)
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random step.")
@click.option(
    "--n-perms", type=int, default=1000, show_default=True, help="Shuffles of the communication test."
)
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
def run_cmd(
    dataset, input_path, patient_key, label_key, sample_key, value_type, out, seed, n_perms, no_progress
):
    """The whole pipeline on one dataset: tables, patient scores, report.html (see docs/exports.md)."""
    from .pipeline import run

    try:
        written = run(
            out,
            dataset=dataset,
            input=input_path,
            patient_key=patient_key,
            label_key=label_key,
            sample_key=sample_key,
            value_type=value_type,
            seed=seed,
            n_perms=n_perms,
            progress=not no_progress,
        )
    except ValueError as err:
        if isinstance(err, NeurosigError):
            raise
        raise click.UsageError(str(err)) from None
    for path in written.values():
        click.echo(f"wrote {path}")


@main.group(cls=_Group)
def stage() -> None:
    """One pipeline stage at a time (what the Snakemake workflow runs, one rule each)."""


@stage.command("fetch")
@_with(SOURCE_OPTIONS[:2])
@click.option(
    "--out", "out", type=click.Path(dir_okay=False), required=True, help="Record (.json) of the files."
)
def stage_fetch(dataset, input_path, out) -> None:
    """Download (or find in the mirror) and verify the dataset's files; record paths and sha256."""
    from ._atomic import write_text
    from .pipeline import fetch

    record = fetch(dataset=dataset, input=input_path)
    write_text(out, json.dumps(record, indent=1) + "\n")
    click.echo(f"{record.get('dataset', record.get('input'))}: {len(record['files'])} files verified")


@stage.command("harmonise")
@_with(SOURCE_OPTIONS)
@click.option("--name", default=None, help="Dataset name of a user .h5ad (default: the file name).")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Output .h5ad.")
def stage_harmonise(dataset, input_path, patient_key, label_key, sample_key, value_type, name, out) -> None:
    """Load a dataset into neurosig's schema and write it."""
    from ._atomic import atomic_path
    from .pipeline import harmonise

    adata = harmonise(
        dataset=dataset,
        input=input_path,
        patient_key=patient_key,
        label_key=label_key,
        sample_key=sample_key,
        value_type=value_type,
        name=name,
        progress=False,
    )
    with atomic_path(out) as tmp:
        adata.write_h5ad(tmp)
    click.echo(f"{adata.n_obs} cells, {adata.obs['patient'].nunique()} patients -> {out}")


def _stage_command(name: str, help_text: str):
    @stage.command(name, help=help_text)
    @click.argument("input_", type=click.Path(exists=True, dir_okay=False))
    @click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Output .h5ad.")
    @click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random step.")
    @click.option("--n-perms", type=int, default=1000, show_default=True, help="Shuffles (communicate).")
    def command(input_, out, seed, n_perms) -> None:
        from .pipeline import run_stage

        click.echo(f"{name}: wrote {run_stage(name, input_, out, seed=seed, n_perms=n_perms)}")

    return command


for _name, _help in (
    ("annotate", "Annotate cells without author labels (markers, copy number)."),
    ("score", "Score every library signature (score_genes) and Neftel states."),
    ("communicate", "Ligand-receptor communication, over all cells and per patient."),
    ("test", "Test the review's claims with patient-aware statistics."),
):
    _stage_command(_name, _help)


@stage.command("export")
@click.argument("input_", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Output folder.")
def stage_export(input_, out) -> None:
    """Write every output of a run (tables, patient scores, report) from the last stage's h5ad."""
    import anndata as ad

    from .export import write_run

    written = write_run(ad.read_h5ad(input_), out)
    click.echo(f"export: {len(written)} files in {out}")


@stage.command("pool")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Output folder.")
def stage_pool(runs, out) -> None:
    """Pool finished run folders: evidence across datasets, all patients' scores, a report."""
    from .export import pool_runs

    written = pool_runs(runs, out)
    click.echo(f"pool: {len(runs)} runs, {len(written)} files in {out}")


@main.command("workflow")
@click.option(
    "--config",
    "config",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Workflow config (default: the bundled workflows/config.yaml).",
)
@click.option("--cores", type=int, default=None, help="Cores to use (default: all).")
@click.option("--profile", default=None, help="A Snakemake profile, e.g. workflows/profiles/slurm.")
@click.option("--dry-run", "-n", "dry_run", is_flag=True, help="Show the jobs without running them.")
@click.argument("snakemake_args", nargs=-1, type=click.UNPROCESSED)
def workflow_cmd(config, cores, profile, dry_run, snakemake_args) -> None:
    """Run the Snakemake workflow over the config's datasets (resumable; extra args go to Snakemake)."""
    from .workflow import run_workflow

    sys.exit(run_workflow(config, cores=cores, profile=profile, dry_run=dry_run, extra=list(snakemake_args)))


@main.group(cls=_Group)
def signatures() -> None:
    """The cited signature library."""


@signatures.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def signatures_list(fmt: str) -> None:
    """List signatures: id, theme, category, size, citation."""
    from .score import library

    rows = [
        {
            "id": s.id,
            "theme": s.theme,
            "category": s.category,
            "n_genes": len(s.weights),
            "signed": s.signed,
            "name": s.name,
            "citation": s.citation,
        }
        for s in library().values()
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=1))
    else:
        for r in rows:
            click.echo(f"{r['id']:42s} {r['theme']:22s} {r['category']:24s} {r['n_genes']:5d}  {r['name']}")


@signatures.command("show")
@click.argument("signature_id")
def signatures_show(signature_id: str) -> None:
    """Show one signature with its genes and provenance."""
    from .score import resolve

    sig = resolve([signature_id])[0]
    click.echo(json.dumps({**sig.to_dict(), "renamed_symbols": sig.renamed_symbols}, indent=1))


@signatures.command("export")
@click.option("--gmt", "gmt", type=click.Path(dir_okay=False), required=True, help="Output GMT file.")
def signatures_export(gmt: str) -> None:
    """Export the library as GMT (signed sets keep their up genes only)."""
    from .score import export_gmt

    click.echo(f"wrote {export_gmt(gmt)}")


def _read_input(input_: str):
    """Harmonised AnnData from an .h5ad path or a manifest id (unknown ids raise with near matches)."""
    from pathlib import Path

    import anndata as ad

    from .datasets import get_manifest, load

    if Path(input_).suffix == ".h5ad" and Path(input_).is_file():
        return ad.read_h5ad(input_)
    get_manifest().get(input_)
    return load(input_)


@main.command("score")
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
    from pathlib import Path

    from ._atomic import atomic_path
    from .tl import score

    adata = _read_input(input_)
    if sigs and not Path(sigs).suffix:
        sigs = [s.strip() for s in sigs.split(",") if s.strip()]
    score(adata, sigs, method=method, random_state=seed, min_coverage=min_coverage)
    with atomic_path(out) as tmp:
        adata.write_h5ad(tmp)
    click.echo(f"wrote {out}")


@main.command("annotate")
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
    from ._atomic import atomic_path
    from .tl import annotate

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
@click.option("--seed", type=int, default=1337, show_default=True, help="Seed of the label shuffles.")
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
    from .export.communication import write_communication_run
    from .tl import communicate

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
    from pathlib import Path

    import pandas as pd

    from ._provenance import file_hash
    from .claims import check_independent, pool_evidence
    from .export.evidence import write_evidence_run
    from .pipeline import communicate_cells
    from .tl import test_claims

    # refuse overlapping datasets before any work (h5ad inputs are checked again when pooled)
    check_independent([i for i in inputs if not Path(i).suffix])
    tables, per_patient, sources = [], [], {}
    for input_ in inputs:
        adata = _read_input(input_)
        if _keys.COMMUNICATION not in _keys.store(adata):
            communicate_cells(adata, seed=seed, n_perms=n_perms)
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


@main.command("simulate")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Output .h5ad.")
@click.option("--n-patients", type=int, default=8, show_default=True)
@click.option("--n-cells", type=int, default=2400, show_default=True, help="Cells in total.")
@click.option("--n-genes", type=int, default=None, help="Genes kept (default: all 21,341).")
@click.option(
    "--technology", type=click.Choice(["smartseq2", "tenx"]), default="smartseq2", show_default=True
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--neural-loading", type=float, default=0.0, help="Log-fold of the neural programme per unit latent."
)
@click.option("--mhc-effect", type=float, default=0.0, help="Log-fold of MHC-I genes per unit latent.")
@click.option("--pdl1-effect", type=float, default=0.0, help="Log-fold of CD274 per unit latent.")
@click.option(
    "--composition-effect",
    multiple=True,
    metavar="TYPE=VALUE",
    help="Log change of a type's Dirichlet weight per unit tumour neural score (repeatable).",
)
@click.option(
    "--lr-effect",
    multiple=True,
    metavar="LIGAND:RECEPTOR:SENDER:RECEIVER:LOGFOLD",
    help="Raise a ligand-receptor pair (repeatable).",
)
@click.option("--chunk-size", type=int, default=2000, show_default=True)
@click.option("--counts-only", is_flag=True, help="X holds counts; no log-normalised copy (half the disk).")
@click.option("--no-progress", is_flag=True)
def simulate_cmd(
    out,
    n_patients,
    n_cells,
    n_genes,
    technology,
    seed,
    neural_loading,
    mhc_effect,
    pdl1_effect,
    composition_effect,
    lr_effect,
    chunk_size,
    counts_only,
    no_progress,
):
    """Simulate glioma-like single-cell data with planted neuro-immune effects."""
    from .sim import LREffect, SimParams, simulate

    try:
        comp = {k: float(v) for k, v in (item.split("=", 1) for item in composition_effect)}
        lrs = tuple(
            LREffect(lig, rec, snd, rcv, float(lf))
            for lig, rec, snd, rcv, lf in (item.split(":") for item in lr_effect)
        )
    except ValueError:
        raise click.UsageError(
            "--composition-effect takes TYPE=VALUE; "
            "--lr-effect takes LIGAND:RECEPTOR:SENDER:RECEIVER:LOGFOLD."
        ) from None
    params = SimParams(
        n_patients=n_patients,
        n_cells=n_cells,
        n_genes=n_genes,
        technology=technology,
        seed=seed,
        neural_loading=neural_loading,
        mhc_effect=mhc_effect,
        pdl1_effect=pdl1_effect,
        composition_effects=comp,
        lr_effects=lrs,
        chunk_size=chunk_size,
        write_lognorm=not counts_only,
    )
    path = simulate(params, out, progress=not no_progress)
    click.echo(f"wrote {path}")


if __name__ == "__main__":
    main()
