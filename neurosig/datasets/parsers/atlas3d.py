"""GliomaAtlas3D (Hilz et al.): per-tumour bulk RNA of many image-guided samples, read with ``rdata``.

Layout of the package's ``inst/exdata`` (SRHilz/GliomaAtlas3D at commit 4b9b8549), as
seen in the files:

- ``datasets/Patient<ID>/sf<surgery>/rna.rds``: a data frame of 16,000 gene symbols
  (rows) x that tumour's samples (columns ``P260v1``, ``P260v2``...), TPM-scale values
  (column sums 0.88-1.14 million: TPM computed before the gene list was cut to 16,000);
- ``.../celltypes.rds``: the authors' cell-type enrichment scores, types (rows) x samples;
- ``metadata/sampledata_v12.rds``: one row per sample (``Patient`` ``P260``,
  ``SampleName`` ``v1``): FACETS purity, IDH1 VAF, L/P/S coordinates, ``DistCentroid`` and
  ``DistPeriph`` (mm), ``DistVR``; the sample id in ``rna.rds`` is ``Patient + SampleName``;
- ``metadata/tumordata_v12.rds``: one row per tumour (``Patient``): histology, IDH,
  1p/19q, grade, treatment, resection.

Not every sample of ``sampledata`` has RNA (233 rows, 165 RNA profiles in 17 tumours).
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from ...errors import InputDataError, ParseError
from .gliovis import _read_rds, orient_by_symbols


def _frame(path: Path, what: str) -> pd.DataFrame:
    obj = _read_rds(path)
    if not isinstance(obj, pd.DataFrame):
        raise ParseError(f"{path}: {what} should be a data frame; it is a {type(obj).__name__}.")
    return obj


def read_atlas3d(
    files: dict[str, Path], *, sample_id: tuple[str, str] = ("Patient", "SampleName")
) -> ad.AnnData:
    """Read every tumour's ``rna.rds`` with the sample and tumour tables into one AnnData.

    Parameters
    ----------
    files
        ``samples`` (sampledata), ``tumours`` (tumordata), and one ``rna_<tumour>`` per
        tumour; optional ``celltypes_<tumour>`` (authors' enrichment scores, added to
        ``.obs`` as ``celltype_<type>``).
    sample_id
        Columns of the sample table whose concatenation is the RNA column id.

    Returns
    -------
    AnnData of samples x genes, TPM as published, ``.obs`` the joined sample and tumour
    tables (tumour columns prefixed ``tumour_``).
    """
    samples = _frame(files["samples"], "the sample table")
    tumours = _frame(files["tumours"], "the tumour table")
    rna_roles = sorted(r for r in files if r.startswith("rna_"))
    if not rna_roles:
        raise ParseError("atlas3d needs at least one rna_<tumour> file.")
    parts = []
    genes = None
    for role in rna_roles:
        mat = orient_by_symbols(_frame(files[role], "rna.rds"), str(files[role]))
        if genes is not None and not mat.columns.equals(genes):
            raise InputDataError(
                f"{files[role]}: its genes differ from the first tumour's; the atlas files must "
                "share one gene list (re-download the file)."
            )
        genes = mat.columns
        parts.append(mat)
    expr = pd.concat(parts, axis=0)
    expr.index = expr.index.astype(str)
    if expr.index.has_duplicates:
        dups = expr.index[expr.index.duplicated()].unique()
        raise InputDataError(
            f"atlas3d: sample ids {', '.join(dups[:3])} appear in two rna.rds files; each sample "
            "must be profiled once. Check that no tumour's file is listed twice in the manifest."
        )
    key = samples[list(sample_id)].astype(str).agg("".join, axis=1)
    if key.duplicated().any():
        raise InputDataError(
            f"{files['samples']}: sample ids {list(key[key.duplicated()][:3])} appear twice."
        )
    meta = samples.set_axis(pd.Index(key)).reindex(expr.index)
    missing = meta[sample_id[0]].isna()
    if missing.any():
        raise InputDataError(
            f"atlas3d: {int(missing.sum())} RNA samples (e.g. {', '.join(expr.index[missing][:3])}) "
            f"have no row in {files['samples'].name}; use the sample table of the same release."
        )
    tumour = tumours.set_index(tumours[sample_id[0]].astype(str)).add_prefix("tumour_")
    meta = meta.join(tumour, on=sample_id[0])
    for role in sorted(r for r in files if r.startswith("celltypes_")):
        ct = _frame(files[role], "celltypes.rds").T.add_prefix("celltype_")
        for c in ct.columns:
            if c not in meta:
                meta[c] = np.nan
            hit = ct.index.intersection(meta.index)
            meta.loc[hit, c] = ct.loc[hit, c].astype(float)
    out = ad.AnnData(
        X=expr.to_numpy(dtype=np.float32),
        obs=meta,
        var=pd.DataFrame(index=pd.Index(expr.columns.astype(str))),
    )
    out.uns["parser"] = {
        "format": "atlas3d",
        "tumours": len(rna_roles),
        "samples": int(out.n_obs),
        "genes": int(out.n_vars),
        "sample_rows_without_rna": int(len(samples) - out.n_obs),
    }
    return out
