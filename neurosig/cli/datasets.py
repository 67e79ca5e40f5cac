"""``neurosig datasets list|info|fetch|parsers``: the public datasets of the manifest."""

from __future__ import annotations

import json

import click

from ..datasets import fetch_dataset, info, list_datasets
from ..datasets.parsers import PARSERS
from ._main import MANIFEST_OPTION, _Group, main


@main.group(cls=_Group)
def datasets() -> None:
    """Public glioma datasets in the manifest."""


@datasets.command("list")
@MANIFEST_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def datasets_list(fmt: str) -> None:
    """List datasets with their verification state and offline availability."""
    table = list_datasets()
    if fmt == "json":
        click.echo(json.dumps(json.loads(table.to_json(orient="records")), indent=1))
    else:
        cols = ["id", "modality", "value_type", "n_cells", "n_samples", "verification", "available_offline"]
        shown = table[cols].astype(object).where(table[cols].notna(), "")
        shown["manual_download"] = table["manual_download"].map(lambda p: "yes" if p else "")
        click.echo(shown.to_string(index=False))
        for _, row in table[table["manual_download"] != ""].iterrows():
            click.echo(
                f"{row['id']}: download by hand from {row['manual_download']} "
                f"(see `neurosig datasets info {row['id']}`)"
            )


@datasets.command("info")
@MANIFEST_OPTION
@click.argument("dataset_id")
def datasets_info(dataset_id: str) -> None:
    """Show one dataset's manifest entry and where its files would be read from."""
    click.echo(json.dumps(info(dataset_id), indent=1))


@datasets.command("fetch")
@MANIFEST_OPTION
@click.argument("dataset_id")
@click.option("--force", is_flag=True, help="Fetch again even if cached.")
def datasets_fetch(dataset_id: str, force: bool) -> None:
    """Download (or find in a mirror) and verify a dataset's files."""
    for name, path in fetch_dataset(dataset_id, force=force).items():
        click.echo(f"{name}\t{path}")


@datasets.command("parsers")
def datasets_parsers() -> None:
    """List the file-format parsers the manifest can use."""
    for p in PARSERS.values():
        click.echo(f"{p.name:24s} {p.kind:7s} {p.desc}")
