"""Derive neurosig's offline gene-identifier tables from Bioconductor's org.Hs.eg.db.

Source: Debian package ``r-bioc-org.hs.eg.db`` (Bioconductor org.Hs.eg.db 3.16.0,
Entrez Gene snapshot 2022-Sep12, Ensembl 2022-Jun28), whose SQLite database holds
NCBI Entrez Gene symbols, aliases and Ensembl gene ids. The Debian package is fetched
with ``apt-get download`` (no R needed) and only the SQLite file is read.

Writes, under ``signatures/genes/``:

- ``symbols.txt.gz``: current official symbols (one per line).
- ``alias_to_symbol.tsv.gz``: alias -> symbol for aliases that are not themselves a
  current symbol and point to exactly one gene.
- ``ensembl_to_symbol.tsv.gz``: Ensembl gene id -> symbol, ids mapping to one symbol.
- ``gene_positions.tsv.gz``: symbol, chromosome, start, end (GRCh38, primary chromosomes),
  for copy-number inference when a dataset carries no positions.
- ``SOURCE.yaml``: the source package, its version, snapshot dates and row counts.

Usage::

    python scripts/build_gene_tables.py [--sqlite PATH/org.Hs.eg.sqlite]
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import sqlite3
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "signatures" / "genes"
DEB = "r-bioc-org.hs.eg.db"
SQLITE_IN_DEB = "usr/lib/R/site-library/org.Hs.eg.db/extdata/org.Hs.eg.sqlite"


def fetch_sqlite(workdir: Path) -> tuple[Path, str]:
    """Download the Debian package and extract its SQLite file; return path and version."""
    subprocess.run(["apt-get", "download", DEB], cwd=workdir, check=True)
    deb = next(workdir.glob(f"{DEB}_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(workdir / "x")], check=True)
    return workdir / "x" / SQLITE_IN_DEB, deb.name.split("_")[1]


def write_gz(path: Path, text: str) -> None:
    """Write gzip text reproducibly (mtime 0) via a temporary file and rename."""
    tmp = path.with_suffix(path.suffix + ".part")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as fh:
        fh.write(text.encode())
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", type=Path, help="org.Hs.eg.sqlite (default: apt-get download)")
    parser.add_argument("--deb-version", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.sqlite is None:
            sqlite_path, version = fetch_sqlite(Path(tmp))
        else:
            sqlite_path, version = args.sqlite, args.deb_version or "unknown"
        con = sqlite3.connect(sqlite_path)
        meta = dict(con.execute("select name, value from metadata"))
        symbols = {i: s for i, s in con.execute("select _id, symbol from gene_info")}
        aliases = list(con.execute("select _id, alias_symbol from alias"))
        ensembl = list(con.execute("select _id, ensembl_id from ensembl"))
        locations = list(
            con.execute("select _id, seqname, start_location, end_location from chromosome_locations")
        )
        con.close()

    current = set(symbols.values())
    targets: dict[str, set[str]] = defaultdict(set)
    for gid, alias in aliases:
        if alias not in current:
            targets[alias].add(symbols[gid])
    unique_alias = {a: next(iter(t)) for a, t in targets.items() if len(t) == 1}
    ambiguous = sum(len(t) > 1 for t in targets.values())

    ens: dict[str, set[str]] = defaultdict(set)
    for gid, eid in ensembl:
        ens[eid].add(symbols[gid])
    unique_ens = {e: next(iter(s)) for e, s in ens.items() if len(s) == 1}

    primary = {str(i) for i in range(1, 23)} | {"X", "Y"}
    positions: dict[str, tuple[str, int, int]] = {}
    for gid, chrom, start, end in sorted(locations, key=lambda r: (r[0], abs(r[2]))):
        if chrom in primary and symbols[gid] not in positions:
            a, b = sorted((abs(start), abs(end)))
            positions[symbols[gid]] = (f"chr{chrom}", a, b)

    OUT.mkdir(parents=True, exist_ok=True)
    write_gz(
        OUT / "gene_positions.tsv.gz",
        "symbol\tchromosome\tstart\tend\n"
        + "".join(f"{g}\t{c}\t{a}\t{b}\n" for g, (c, a, b) in sorted(positions.items())),
    )
    write_gz(OUT / "symbols.txt.gz", "".join(f"{s}\n" for s in sorted(current)))
    write_gz(
        OUT / "alias_to_symbol.tsv.gz",
        "alias\tsymbol\n" + "".join(f"{a}\t{s}\n" for a, s in sorted(unique_alias.items())),
    )
    write_gz(
        OUT / "ensembl_to_symbol.tsv.gz",
        "ensembl_id\tsymbol\n" + "".join(f"{e}\t{s}\n" for e, s in sorted(unique_ens.items())),
    )
    source = f"""# Provenance of the gene-identifier tables in this folder (written by
# scripts/build_gene_tables.py; do not edit by hand).
source: Bioconductor org.Hs.eg.db via Debian package {DEB} {version}
source_file: {SQLITE_IN_DEB}
licence: Artistic-2.0 (org.Hs.eg.db); Entrez Gene and Ensembl data are public domain / unrestricted
entrez_gene_date: "{meta.get("EGSOURCEDATE", "")}"
ensembl_date: "{meta.get("ENSOURCEDATE", "")}"
counts:
  symbols: {len(current)}
  aliases_unique: {len(unique_alias)}
  aliases_ambiguous_dropped: {ambiguous}
  ensembl_ids: {len(unique_ens)}
  gene_positions: {len(positions)}
gene_positions_source: >-
  UCSC GRCh38 gene locations in org.Hs.eg.db (GPSOURCEDATE {meta.get("GPSOURCEDATE", "")});
  primary chromosomes only, first locus per gene
rules:
  - an alias equal to a current symbol is never remapped
  - aliases pointing to more than one gene are dropped (see alias_overrides.tsv)
"""
    (OUT / "SOURCE.yaml").write_text(source)
    print(source)


if __name__ == "__main__":
    main()
