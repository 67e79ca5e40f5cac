"""Gene identifiers: symbols as ``var_names``.

Ensembl ids are mapped, outdated symbols renamed, duplicated symbols merged.

Tables (``signatures/genes/``, derived by ``scripts/build_gene_tables.py`` from
Bioconductor's org.Hs.eg.db 3.16.0: Entrez Gene 2022-Sep12, Ensembl 2022-Jun28):

- current official symbols;
- alias -> symbol for aliases that name exactly one gene and are not a current symbol
  (a current symbol is never renamed);
- ``alias_overrides.tsv``: ambiguous aliases resolved by hand, each with its reason;
- Ensembl gene id -> symbol.

An outdated symbol is renamed only when its current symbol is not itself measured in
the same file (otherwise both are kept apart and the pair is reported). Symbols that are
still duplicated (the same name twice in the file, or two outdated names of one gene)
are merged by **summing** their values on the linear scale (counts, TPM, CPM): reads of
one gene split across two rows add up. Every rename and merge is counted in the report.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import cache

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml

from .._resources import signatures_dir
from ..errors import InputDataError

ENSEMBL_RE = re.compile(r"^ENS[A-Z]*G\d{11}(\.\d+)?$")
_MOUSE_RE = re.compile(r"^[A-Z][a-z][a-z0-9]*$")  # Gapdh, Actb, Cd74 (human: GAPDH)
_MOUSE_CASE_RE = re.compile(r"^[A-Z][a-z0-9-]*[a-z][a-z0-9-]*$")  # also B2m, Hla-a, H2-k1
SYMBOL_COLUMNS = ("gene_symbols", "gene_symbol", "feature_name", "gene_name", "symbol", "gene")


@dataclass(frozen=True)
class GeneTables:
    """Offline identifier tables and their provenance."""

    symbols: frozenset[str]
    aliases: dict[str, str]
    ensembl: dict[str, str]
    source: dict


def _read_gz_lines(name: str) -> list[str]:
    with gzip.open(signatures_dir() / "genes" / name, "rt") as fh:
        return fh.read().splitlines()


@cache
def gene_tables() -> GeneTables:
    """Load the bundled identifier tables (once per process)."""
    symbols = frozenset(_read_gz_lines("symbols.txt.gz"))
    aliases = dict(line.split("\t") for line in _read_gz_lines("alias_to_symbol.tsv.gz")[1:])
    overrides = pd.read_csv(signatures_dir() / "genes" / "alias_overrides.tsv", sep="\t", comment="#")
    aliases.update(zip(overrides["alias"], overrides["symbol"], strict=True))
    ensembl = dict(line.split("\t") for line in _read_gz_lines("ensembl_to_symbol.tsv.gz")[1:])
    source = yaml.safe_load((signatures_dir() / "genes" / "SOURCE.yaml").read_text())
    return GeneTables(symbols, aliases, ensembl, source)


def current_symbol(name: str) -> str:
    """The current symbol for ``name`` (itself when current or unknown)."""
    tables = gene_tables()
    if name in tables.symbols:
        return name
    return tables.aliases.get(name, name)


def fraction_ensembl(names) -> float:
    """Share of names that are Ensembl gene ids."""
    names = list(names)
    return sum(bool(ENSEMBL_RE.match(str(n))) for n in names) / max(len(names), 1)


def fraction_mouse_like(names) -> float:
    """Share of names written like mouse symbols (capital then lower case: ``Gapdh``)."""
    names = [str(n) for n in names]
    return sum(bool(_MOUSE_RE.match(n)) for n in names) / max(len(names), 1)


def merge_plan(var: pd.DataFrame, new_names: pd.Index) -> tuple[sp.csr_matrix, pd.DataFrame]:
    """How columns sharing a name in ``new_names`` are summed: an indicator matrix and the new ``var``.

    ``X @ indicator`` sums them (row by row, so a matrix gives the same values whole or
    in chunks of cells); the new ``var`` keeps each name's first row, with the merged
    ``gene_ids`` joined by ``;``.
    """
    codes, uniques = pd.factorize(new_names)
    indicator = sp.csr_matrix(
        (np.ones(len(codes), dtype=np.float32), (np.arange(len(codes)), codes)),
        shape=(len(codes), len(uniques)),
    )
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    out = var.iloc[first].copy()
    if "gene_ids" in out:
        joined = (
            pd.Series(var["gene_ids"].astype(str).to_numpy())
            .groupby(codes)
            .agg(lambda s: ";".join(dict.fromkeys(s)))
        )
        out["gene_ids"] = joined.to_numpy()
    out.index = pd.Index(uniques)
    return indicator, out


def merge(mat, indicator: sp.csr_matrix):
    """Sum the columns of ``mat`` as :func:`merge_plan`'s ``indicator`` says (float32)."""
    if sp.issparse(mat):
        return sp.csr_matrix(mat @ indicator, dtype=np.float32)
    return np.asarray(mat @ indicator, dtype=np.float32)


def _merge_columns(adata: ad.AnnData, new_names: pd.Index) -> ad.AnnData:
    """Sum columns of X and every layer that share a name in ``new_names``."""
    indicator, var = merge_plan(adata.var, new_names)
    out = ad.AnnData(X=merge(adata.X, indicator), obs=adata.obs, var=var, uns=adata.uns, obsm=adata.obsm)
    for key, layer in adata.layers.items():
        out.layers[key] = merge(layer, indicator)
    return out


def harmonised_gene_names(
    adata: ad.AnnData,
    *,
    symbol_column: str | None = None,
    map_ensembl: bool = False,
    rename_aliases: bool = True,
) -> tuple[pd.Index, dict]:
    """Current human symbols for ``var_names`` (repeated where columns will be merged), and a report.

    Reads ``adata.var`` only (never the matrix; may add ``var["gene_ids"]``), so a
    matrix streamed from disk gets the names of an in-memory one.

    Parameters
    ----------
    adata
        Cells x genes.
    symbol_column
        A ``.var`` column holding symbols, used when ``var_names`` are Ensembl ids.
        Detected automatically among common names (``gene_symbols``, ``feature_name``...).
    map_ensembl
        Map Ensembl ids with the bundled table when no symbol column exists.
    rename_aliases
        Rename outdated symbols to current ones.

    Returns
    -------
    The new name of every column and a report (counts and examples of every change).
    """
    names = pd.Index([str(n).strip().strip("'\"") for n in adata.var_names])
    if (names == "").any():
        raise InputDataError(f"{int((names == '').sum())} genes have empty names; fix the gene column.")
    report: dict = {"n_input_genes": int(adata.n_vars), "ensembl_mapped": 0}
    if fraction_ensembl(names) > 0.5:
        column = symbol_column or next((c for c in SYMBOL_COLUMNS if c in adata.var), None)
        if column is not None:
            if "gene_ids" not in adata.var:
                adata.var["gene_ids"] = list(names)
            names = pd.Index(adata.var[column].astype(str))
            report["symbols_from"] = f"var[{column!r}]"
        elif map_ensembl:
            table = gene_tables().ensembl
            stripped = [re.sub(r"\.\d+$", "", n) for n in names]
            mapped = [table.get(e) for e in stripped]
            missing = sum(m is None for m in mapped)
            adata.var["gene_ids"] = stripped
            names = pd.Index([m if m is not None else e for m, e in zip(mapped, stripped, strict=True)])
            report["ensembl_mapped"] = len(mapped) - missing
            report["ensembl_unmapped"] = missing
            report["symbols_from"] = "bundled Ensembl table"
        else:
            raise InputDataError(
                "var_names are Ensembl ids (e.g. "
                f"{names[0]}), but neurosig's signatures use gene symbols. Put symbols in a "
                f".var column and name it (symbol_column=..., or --symbol-column on the CLI), "
                "or pass map_ensembl=True (--map-ensembl) to map them with the bundled "
                "Ensembl 2022 table."
            )
    if fraction_mouse_like(names) > 0.5:
        raise InputDataError(
            f"Gene names look like mouse symbols (e.g. {', '.join(names[:3])}); neurosig's "
            "signatures are human. Map mouse genes to human orthologs first (e.g. with "
            "Ensembl BioMart or pybiomart), then load the result."
        )
    # a few human genes written in mouse case (Cd274) would silently miss every signature
    # that holds them: list them (the loader warns); upper-casing is the user's call
    human = gene_tables().symbols
    mouse_case = [n for n in names if _MOUSE_CASE_RE.match(n) and n not in human and n.upper() in human]
    report["mouse_case_symbols"] = len(mouse_case)
    report["mouse_case_examples"] = mouse_case[:20]
    renamed: dict[str, str] = {}
    if rename_aliases:
        tables = gene_tables()
        present = set(names)
        new, conflicts = [], {}
        for n in names:
            target = tables.aliases.get(n) if n not in tables.symbols else None
            if target is None:
                new.append(n)
            elif target in present:  # both names measured: keep them apart, never sum
                conflicts[n] = target
                new.append(n)
            else:
                renamed[n] = target
                new.append(target)
        names = pd.Index(new)
        report["alias_target_present"] = len(conflicts)
        report["alias_target_present_examples"] = dict(list(sorted(conflicts.items()))[:20])
        unrecognised = int(sum(n not in tables.symbols for n in names))
        report["unrecognised_symbols"] = unrecognised
    report["renamed_aliases"] = len(renamed)
    report["renamed_examples"] = dict(list(sorted(renamed.items()))[:20])
    dup = names[names.duplicated(keep=False)]
    report["merged_duplicates"] = int(dup.nunique())
    report["duplicate_examples"] = sorted(set(dup))[:20]
    report["n_output_genes"] = int(names.nunique())
    report["gene_table_source"] = gene_tables().source["source"]
    return names, report


def harmonise_genes(
    adata: ad.AnnData,
    *,
    symbol_column: str | None = None,
    map_ensembl: bool = False,
    rename_aliases: bool = True,
) -> tuple[ad.AnnData, dict]:
    """Bring ``var_names`` to current human symbols and merge duplicates.

    Must be called on linear-scale values (counts, TPM, CPM), because duplicates
    are merged by summing. The names and the report are :func:`harmonised_gene_names`'.

    Returns
    -------
    The harmonised AnnData and a report (counts and examples of every change).
    """
    names, report = harmonised_gene_names(
        adata, symbol_column=symbol_column, map_ensembl=map_ensembl, rename_aliases=rename_aliases
    )
    if not names.has_duplicates:
        adata = adata.copy() if adata.is_view else adata
        adata.var_names = names
    else:
        adata = _merge_columns(adata, names)
    adata.var_names.name = None
    return adata, report
