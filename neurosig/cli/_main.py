"""The ``neurosig`` group, its error handling and what several command groups share."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import anndata as ad
import click

from .._version import __version__
from ..datasets import get_manifest, load
from ..datasets.manifest import add_user_manifests
from ..errors import NeurosigError


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


def _add_manifests(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> None:
    if value:
        add_user_manifests(list(value))


#: ``--manifest FILE`` (repeatable): your own manifest entries added to the bundled ones,
#: for this command and the processes it starts (as ``NEUROSIG_MANIFEST``).
MANIFEST_OPTION = click.option(
    "--manifest",
    "manifest_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    expose_value=False,
    is_eager=True,
    callback=_add_manifests,
    help="Your own manifest YAML (same schema as data_manifest.yaml), added to the bundled "
    "datasets; repeatable. Also read from NEUROSIG_MANIFEST (files separated by the path separator).",
)


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


def _read_input(input_: str):
    """Harmonised AnnData from an .h5ad path or a manifest id (unknown ids raise with near matches)."""
    if Path(input_).suffix == ".h5ad" and Path(input_).is_file():
        return ad.read_h5ad(input_)
    get_manifest().get(input_)
    return load(input_)
