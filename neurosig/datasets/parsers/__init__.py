"""Parsers for the published file formats, one module per format, and their registry.

Each parser is a plain function ``parse(files, **options)``: ``files`` maps the roles
the parser needs (``matrix``, ``features``, ``barcodes``, ``table`` ...) to local paths.
Matrix parsers return an AnnData of cells x genes with the values as published; table
parsers return a DataFrame indexed by cell id (``obs``) or gene (``var``). The registry
below records, for each parser, the roles it needs and what it returns, so the manifest
can be validated and ``neurosig datasets parsers`` can list them.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ParseError
from . import archive, atlas3d, dense, geo, gliovis, rda, rds, table, tenx
from . import h5ad as h5ad_mod


@dataclass(frozen=True)
class ParserMeta:
    """What one parser reads and returns."""

    name: str
    func: Callable[..., Any]
    kind: str  # "matrix" -> AnnData, "obs" -> DataFrame by cell, "var" -> DataFrame by gene
    roles: tuple[str, ...]
    desc: str


PARSERS: dict[str, ParserMeta] = {
    p.name: p
    for p in (
        ParserMeta(
            "dense_matrix",
            dense.read_dense_matrix,
            "matrix",
            ("matrix",),
            "dense delimited genes x cells (or cells x genes) text, gzip or plain, "
            "quoted names, tab/comma/space separated, infercnv-style short header",
        ),
        ParserMeta(
            "ensembl_symbol_matrix",
            dense.read_ensembl_symbol_matrix,
            "matrix",
            ("matrix",),
            "headerless matrix: Ensembl id, symbol, then one column per cell (Yuan 2018, GSE103224)",
        ),
        ParserMeta(
            "tenx_mtx",
            tenx.read_tenx_mtx,
            "matrix",
            ("matrix", "features", "barcodes"),
            "10x Market Exchange triplet (genes.tsv v2 or features.tsv v3)",
        ),
        ParserMeta(
            "tenx_h5",
            tenx.read_tenx_h5,
            "matrix",
            ("h5",),
            "10x Cell Ranger HDF5 (v2 genome groups or v3 'matrix' group)",
        ),
        ParserMeta("h5ad", h5ad_mod.read_h5ad_file, "matrix", ("h5ad",), "AnnData h5ad"),
        ParserMeta(
            "rda_dgcmatrix",
            rda.read_rda_dgcmatrix,
            "matrix",
            ("rda",),
            "R .rda/.RData holding a genes x cells dgCMatrix (read with rdata)",
        ),
        ParserMeta(
            "rds_matrix",
            rds.read_rds_matrix,
            "matrix",
            ("rds",),
            "R .rds (saveRDS) of a genes x cells matrix, dense with dimnames or dgCMatrix; "
            "extra gzip layers removed (GBM-CARE's RDS.gz)",
        ),
        ParserMeta(
            "seurat_rds",
            rds.read_seurat_rds,
            "matrix",
            ("rds",),
            "R .rds of a Seurat (v3/v4) object: counts of one assay (default RNA) and meta.data "
            "as obs, read with rdata (no R); the whole object is held in memory",
        ),
        ParserMeta(
            "gliovis_rds",
            gliovis.read_gliovis_rds,
            "matrix",
            ("rds",),
            "GlioVis cohort .Rds (R list: expr samples x genes with clinical columns first, pData), "
            "orientation detected by gene symbols, clinical table joined on Sample",
        ),
        ParserMeta(
            "atlas3d",
            atlas3d.read_atlas3d,
            "matrix",
            ("samples", "tumours"),
            "GliomaAtlas3D: one rna.rds per tumour (rna_<tumour> roles) with the sample and tumour "
            "tables (and optional celltypes_<tumour>)",
        ),
        ParserMeta(
            "tar_of_matrices",
            archive.read_tar_of_matrices,
            "matrix",
            ("archive",),
            "GEO *_RAW.tar of per-sample matrices (10x triplets, h5 or text), "
            "members checked and extracted safely",
        ),
        ParserMeta(
            "geo_series_matrix",
            geo.read_geo_series_matrix,
            "obs",
            ("series_matrix",),
            "GEO series matrix: !Sample_ rows, characteristics 'key: value' -> columns",
        ),
        ParserMeta(
            "scp_metadata",
            table.read_scp_metadata,
            "obs",
            ("table",),
            "Single Cell Portal metadata: header, TYPE row (group/numeric), NAME index",
        ),
        ParserMeta("table", table.read_table, "obs", ("table",), "delimited table of per-cell metadata"),
        ParserMeta(
            "excel_table",
            table.read_excel_table,
            "obs",
            ("table",),
            "Excel sheet of per-cell metadata (GEO xlsx; needs openpyxl)",
        ),
        ParserMeta(
            "rds_table",
            rds.read_rds_table,
            "obs",
            ("table",),
            "R .rds of a per-cell data.frame or tibble, indexed by a named column",
        ),
        ParserMeta(
            "infercnv_annotations",
            table.read_infercnv_annotations,
            "obs",
            ("table",),
            "infercnv annotation file: cell id and label, tab-separated, no header",
        ),
        ParserMeta(
            "gene_positions",
            table.read_gene_positions,
            "var",
            ("table",),
            "gene, chromosome, start, end (infercnv gene order file), no header",
        ),
    )
}


def run_parser(name: str, files: dict[str, Path], options: dict[str, Any] | None = None) -> Any:
    """Run parser ``name`` on ``files``; turn low-level read errors into :class:`ParseError`."""
    meta = PARSERS.get(name)
    if meta is None:
        raise ParseError(f"Unknown parser {name!r}. Known parsers: {', '.join(sorted(PARSERS))}.")
    missing = [r for r in meta.roles if r not in files]
    if missing:
        raise ParseError(f"Parser {name!r} needs files for roles {missing}; got {sorted(files)}.")
    try:
        return meta.func(files, **(options or {}))
    except (gzip.BadGzipFile, zlib.error, EOFError) as err:
        paths = ", ".join(str(p) for p in files.values())
        raise ParseError(
            f"{paths}: not a valid gzip stream ({type(err).__name__}: {err}). The file is "
            "corrupt or a partial download: delete it and fetch it again."
        ) from None
    except TypeError as err:
        if "unexpected keyword" in str(err):
            raise ParseError(f"Parser {name!r}: {err}. Check the options in the manifest.") from None
        raise


__all__ = ["PARSERS", "ParserMeta", "run_parser"]
