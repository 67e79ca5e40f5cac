"""Tar archives of per-sample matrices (GEO ``*_RAW.tar``), read member by member.

GEO bundles per-sample supplementary files in one ``GSE*_RAW.tar``. This parser
extracts the members whose names match ``member_regex`` (every member is checked:
absolute paths, ``..`` and links are refused) into ``<cache>/_extracted/<archive>/``,
parses each sample with an inner parser and concatenates them, prefixing each cell id
with its sample (``<sample>:<cell>``). With ``triplet: true`` the members are 10x
triplets grouped by the prefix before ``matrix.mtx``/``barcodes.tsv``/``features.tsv``
(or ``genes.tsv``).
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path, PurePosixPath

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...errors import ParseError
from .. import fetch

_TRIPLET_RE = re.compile(
    r"^(?P<prefix>.*?)[._-]?(?P<role>matrix\.mtx|barcodes\.tsv|features\.tsv|genes\.tsv)(\.gz)?$"
)


def read_tar_of_matrices(
    files: dict[str, Path],
    *,
    member_regex: str,
    parser: str = "tenx_mtx",
    sample_group: int | str = 1,
    triplet: bool = False,
    options: dict | None = None,
    resequenced: dict | None = None,
) -> ad.AnnData:
    """Parse every matching member of a tar archive and concatenate the samples.

    Parameters
    ----------
    files
        ``{"archive": path}``.
    member_regex
        Regex on the member's base name; group ``sample_group`` names the sample.
    parser
        Inner parser for each sample (``tenx_mtx``, ``tenx_h5``, ``ensembl_symbol_matrix``,
        ``dense_matrix``, ``rds_matrix``).
    triplet
        Group members into 10x triplets (for ``tenx_mtx``).
    options
        Options passed to the inner parser.
    resequenced
        ``{"key": regex, "min_overlap": 0.8}``: libraries whose names give the same
        ``key`` group 1 (Wang 2022: the SF number, so ``..._SF10099``,
        ``..._SF10099v2`` and ``..._SF11916_batch2`` group with their first run) and
        that share at least ``min_overlap`` of their barcodes with the first run are
        re-sequencing of the same cells: their counts are added cell by cell instead of
        counting the cells twice. Below the threshold a library is an independent
        capture and kept. Each decision and overlap is in
        ``uns["parser"]["resequenced"]``.
    """
    from . import PARSERS  # the registry imports this module: look the inner parser up at call time

    archive = files["archive"]
    dest = fetch.cache_dir() / "_extracted" / archive.name
    pattern = re.compile(member_regex)
    try:
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if not m.isdir()]
    except tarfile.TarError as err:
        raise ParseError(f"{archive}: not a readable tar archive ({err}); it may be truncated.") from None
    for m in members:
        fetch.check_member_safe(m)
    chosen = [m for m in members if pattern.search(PurePosixPath(m.name).name)]
    if not chosen:
        raise ParseError(f"{archive}: no member matches {member_regex!r}.")
    samples: dict[str, dict[str, Path]] = {}
    for m in chosen:
        base = PurePosixPath(m.name).name
        sample = pattern.search(base).group(sample_group)
        local = dest / m.name
        if not (local.is_file() and local.stat().st_size == m.size):
            fetch.extract_member(archive, m.name, local)
        if triplet:
            tm = _TRIPLET_RE.match(base)
            if tm is None:
                raise ParseError(f"{archive}: member {base!r} is not part of a 10x triplet.")
            role = {"matrix.mtx": "matrix", "barcodes.tsv": "barcodes"}.get(tm["role"], "features")
            samples.setdefault(sample, {})[role] = local
        else:
            key = {"tenx_h5": "h5", "h5ad": "h5ad", "rds_matrix": "rds"}.get(parser, "matrix")
            if sample in samples:
                raise ParseError(f"{archive}: two members for sample {sample!r}; tighten member_regex.")
            samples[sample] = {key: local}
    by_sample, reports = {}, {}
    for sample, paths in sorted(samples.items()):
        if triplet and set(paths) != {"matrix", "barcodes", "features"}:
            raise ParseError(f"{archive}: sample {sample!r} lacks part of its 10x triplet ({sorted(paths)}).")
        part = PARSERS[parser].func(paths, **(options or {}))
        reports[sample] = dict(part.uns.get("parser", {}))
        by_sample[sample] = part
    merged = _merge_resequenced(by_sample, resequenced) if resequenced else {}
    parts = []
    for sample, part in by_sample.items():
        part.obs_names = [f"{sample}:{c}" for c in part.obs_names]
        part.obs["sample_from_file"] = sample
        parts.append(part)
    out = ad.concat(parts, join="outer", merge="first", fill_value=0) if len(parts) > 1 else parts[0]
    skipped = {s: r["skipped_lines"] for s, r in reports.items() if r.get("skipped_lines")}
    out.uns["parser"] = {"name": "tar_of_matrices", "samples": reports, "skipped_lines": skipped}
    if resequenced:
        out.uns["parser"]["resequenced"] = merged
    return out


def _feature_keys(a: ad.AnnData) -> pd.Index | None:
    keys = pd.Index(a.var["gene_ids"]) if "gene_ids" in a.var else a.var_names
    return None if keys.has_duplicates else keys


def _add_counts(base: ad.AnnData, extra: ad.AnnData) -> ad.AnnData:
    """Cell-by-cell sum of two libraries of the same cells (union of barcodes and features)."""
    kb, ke = _feature_keys(base), _feature_keys(extra)
    cells = base.obs_names.union(extra.obs_names, sort=False)
    feats = kb.union(ke, sort=False)
    total = sp.csr_matrix((len(cells), len(feats)), dtype=np.float32)
    for a, keys in ((base, kb), (extra, ke)):
        coo = sp.coo_matrix(a.X)
        rows = cells.get_indexer(a.obs_names)[coo.row]
        cols = feats.get_indexer(keys)[coo.col]
        total = total + sp.csr_matrix((coo.data, (rows, cols)), shape=total.shape, dtype=np.float32)
    var = pd.concat([base.var.set_axis(kb), extra.var.set_axis(ke)])
    names = pd.concat([base.var_names.to_series(index=kb), extra.var_names.to_series(index=ke)])
    var = var[~var.index.duplicated()].reindex(feats)
    var.index = pd.Index(names[~names.index.duplicated()].reindex(feats).astype(str))
    return ad.AnnData(X=total.tocsr(), obs=pd.DataFrame(index=cells), var=var)


def _merge_resequenced(by_sample: dict[str, ad.AnnData], rule: dict) -> dict[str, dict]:
    """Fold re-sequencing runs into the library they re-run (see ``resequenced``)."""
    pattern = re.compile(rule["key"])
    min_overlap = float(rule.get("min_overlap", 0.8))
    groups: dict[str, list[str]] = {}
    for sample in by_sample:
        m = pattern.search(sample)
        if m is not None:
            groups.setdefault(m.group(1), []).append(sample)
    decisions: dict[str, dict] = {}
    for key, names in groups.items():
        if len(names) < 2:
            continue
        # the library named by the key alone is the first run; the others re-run it or not
        plain = [n for n in names if n.endswith(key)]
        base = plain[0] if plain else sorted(names)[0]
        for sample in names:
            if sample == base:
                continue
            run, first = by_sample[sample], by_sample[base]
            overlap = len(run.obs_names.intersection(first.obs_names)) / max(run.n_obs, 1)
            record = {"library": base, "barcode_overlap": round(overlap, 4)}
            if overlap >= min_overlap and _feature_keys(run) is not None and _feature_keys(first) is not None:
                merged = _add_counts(first, run)
                merged.uns["parser"] = first.uns.get("parser", {})
                by_sample[base] = merged
                del by_sample[sample]
                record["action"] = "counts added to the library it re-sequences"
            else:
                record["action"] = "kept as an independent capture"
            decisions[sample] = record
    return decisions
