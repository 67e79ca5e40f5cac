"""The ``neurosig`` group, its error handling and what several command groups share."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import anndata as ad
import click

from .. import _keys
from .._version import __version__
from ..datasets import get_manifest, load
from ..datasets.bulk import BULK_TRANSFORMS
from ..datasets.harmonise import VALUE_TYPES, check_values
from ..datasets.manifest import add_user_manifests
from ..errors import InputDataError, NeurosigError


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
    warnings.formatwarning = _one_line  # a warning is a sentence for the user, not a source line


def _one_line(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


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
    click.option(
        "--patient",
        "patient",
        default=None,
        help="The patient of every cell of a single-sample file (with --input, instead of --patient-key).",
    ),
    click.option("--label-key", default=None, help="obs column with cell-type labels (with --input)."),
    click.option("--sample-key", default=None, help="obs column with the sample id (with --input)."),
    click.option(
        "--value-type",
        default=None,
        type=click.Choice(["counts", "tpm", "cpm", "log2_tpm10", "log1p_cp10k", "centred_log"]),
        help="Scale of the input values (with --input; default: detect counts).",
    ),
    click.option(
        "--symbol-column",
        default=None,
        help="var column of gene symbols, when var_names are Ensembl ids (with --input).",
    ),
    click.option(
        "--map-ensembl",
        is_flag=True,
        help="Map Ensembl ids to symbols with the bundled Ensembl table (with --input).",
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
    """Harmonised AnnData from an .h5ad path or a manifest id (unknown ids raise with near matches).

    An h5ad must be in neurosig's schema (written by ``neurosig stage harmonise`` or a
    run's ``cells.h5ad``): its record says what scale ``X`` is on, and ``X`` must still be
    on it. Anything else is refused with the command that harmonises it, instead of being
    scored or tested as if it were log-normalised.
    """
    if Path(input_).suffix == ".h5ad" and Path(input_).is_file():
        adata = ad.read_h5ad(input_)
        check_harmonised(adata, input_)
        return adata
    get_manifest().get(input_)
    return load(input_)


def check_harmonised(adata: ad.AnnData, source: str) -> None:
    """Refuse an AnnData that is not in neurosig's schema, or whose ``X`` left its scale."""
    rec = _keys.record(adata)
    if rec.get(_keys.MODALITY) in ("bulk", "multi_region"):
        # tumour samples: X is log2 expression on the scale the bulk loader recorded
        if rec.get(_keys.VALUE_TYPE) not in BULK_TRANSFORMS or "patient" not in adata.obs:
            raise InputDataError(
                f"{source} says it holds {rec[_keys.MODALITY]} samples but has no record of its value "
                f"scale (one of {', '.join(BULK_TRANSFORMS)}) or no .obs ['patient']: load bulk "
                "cohorts with `neurosig stage harmonise --dataset ID` (see docs/datasets.md)."
            )
        return
    missing = [c for c in ("patient", "cell_type") if c not in adata.obs]
    if rec.get("value_type") not in VALUE_TYPES or missing:
        raise InputDataError(
            f"{source} is not in neurosig's schema (no record of its value scale"
            + (f", no .obs {missing}" if missing else "")
            + "): its X may be counts, TPM or log values, and reading it as log-normalised "
            "would change every score. Harmonise it first: `neurosig stage harmonise --input "
            f"{source} --patient-key COLUMN --value-type TYPE --out harmonised.h5ad`, or run "
            f"the whole pipeline: `neurosig run --input {source} --patient-key COLUMN ...`."
        )
    if rec["value_type"] != "centred_log":
        try:  # X = log1p(CP10k): never negative, never linear-scale
            check_values(adata.X, "log1p_cp10k", source)
        except InputDataError as err:
            raise InputDataError(
                f"{err} Its record says X is log1p(CP10k) (harmonised from {rec['value_type']}), so X "
                "was replaced after harmonising; harmonise the original file again."
            ) from None
