"""``neurosig signatures list|show|export``: the cited signature library."""

from __future__ import annotations

import json

import click

from ..knowledge import export_gmt, library, resolve
from ._main import _Group, main


@main.group(cls=_Group)
def signatures() -> None:
    """The cited signature library."""


@signatures.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def signatures_list(fmt: str) -> None:
    """List signatures: id, theme, category, size, citation."""
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
    sig = resolve([signature_id])[0]
    click.echo(json.dumps({**sig.to_dict(), "renamed_symbols": sig.renamed_symbols}, indent=1))


@signatures.command("export")
@click.option("--gmt", "gmt", type=click.Path(dir_okay=False), required=True, help="Output GMT file.")
def signatures_export(gmt: str) -> None:
    """Export the library as GMT (signed sets keep their up genes only)."""
    click.echo(f"wrote {export_gmt(gmt)}")
