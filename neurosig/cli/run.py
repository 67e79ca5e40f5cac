"""``neurosig run``, ``neurosig stage ...`` and ``neurosig workflow``: the pipeline, whole or by stage."""

from __future__ import annotations

import json
import sys

import anndata as ad
import click

from .._atomic import atomic_path, write_text
from ..errors import NeurosigError
from ..export import pool_runs, write_run
from ..pipeline import fetch, harmonise, run, run_stage
from ..workflow import run_workflow
from ._main import MANIFEST_OPTION, SOURCE_OPTIONS, _Group, _with, main


@main.command("run")
@MANIFEST_OPTION
@_with(SOURCE_OPTIONS)
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Output folder.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random step.")
@click.option(
    "--n-perms", type=int, default=1000, show_default=True, help="Shuffles of the communication test."
)
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.option(
    "--write-cells/--no-write-cells",
    default=None,
    help="cells.h5ad with the expression matrix, or results only (default: the matrix up to 100,000 cells).",
)
def run_cmd(dataset, input_path, out, seed, n_perms, no_progress, write_cells, **source):
    """The whole pipeline on one dataset: tables, patient scores, report.html (see docs/exports.md)."""
    try:
        written = run(
            out,
            dataset=dataset,
            input=input_path,
            seed=seed,
            n_perms=n_perms,
            progress=not no_progress,
            **source,
            write_cells=write_cells,
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
@MANIFEST_OPTION
@_with(SOURCE_OPTIONS[:2])
@click.option(
    "--out", "out", type=click.Path(dir_okay=False), required=True, help="Record (.json) of the files."
)
def stage_fetch(dataset, input_path, out) -> None:
    """Download (or find in the mirror) and verify the dataset's files; record paths and sha256."""
    record = fetch(dataset=dataset, input=input_path)
    write_text(out, json.dumps(record, indent=1) + "\n")
    click.echo(f"{record.get('dataset', record.get('input'))}: {len(record['files'])} files verified")


@stage.command("harmonise")
@MANIFEST_OPTION
@_with(SOURCE_OPTIONS)
@click.option("--name", default=None, help="Dataset name of a user .h5ad (default: the file name).")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Output .h5ad.")
def stage_harmonise(dataset, input_path, name, out, **source) -> None:
    """Load a dataset into neurosig's schema and write it."""
    adata = harmonise(dataset=dataset, input=input_path, name=name, progress=False, **source)
    with atomic_path(out) as tmp:
        adata.write_h5ad(tmp)
    unit = "samples" if "cell_type" not in adata.obs else "cells"
    click.echo(f"{adata.n_obs} {unit}, {adata.obs['patient'].nunique()} patients -> {out}")


def _stage_command(name: str, help_text: str):
    @stage.command(name, help=help_text)
    @MANIFEST_OPTION
    @click.argument("input_", type=click.Path(exists=True, dir_okay=False))
    @click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Output .h5ad.")
    @click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random step.")
    @click.option("--n-perms", type=int, default=1000, show_default=True, help="Shuffles (communicate).")
    def command(input_, out, seed, n_perms) -> None:
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
    written = write_run(ad.read_h5ad(input_), out)
    click.echo(f"export: {len(written)} files in {out}")


@stage.command("pool")
@MANIFEST_OPTION
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out", type=click.Path(file_okay=False), required=True, help="Output folder.")
def stage_pool(runs, out) -> None:
    """Pool finished run folders: evidence across datasets, all patients' scores, a report."""
    written = pool_runs(runs, out)
    click.echo(f"pool: {len(runs)} runs, {len(written)} files in {out}")


@main.command("workflow")
@MANIFEST_OPTION
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
    sys.exit(run_workflow(config, cores=cores, profile=profile, dry_run=dry_run, extra=list(snakemake_args)))
