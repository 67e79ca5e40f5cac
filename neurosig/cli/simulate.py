"""``neurosig simulate``: glioma-like single-cell data with planted effects."""

from __future__ import annotations

import click

from ..sim import LREffect, SimParams, simulate
from ._main import main


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
