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

from ...errors import ParseError

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
    """
    from .. import fetch
    from . import PARSERS

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
    parts = []
    for sample, paths in sorted(samples.items()):
        if triplet and set(paths) != {"matrix", "barcodes", "features"}:
            raise ParseError(f"{archive}: sample {sample!r} lacks part of its 10x triplet ({sorted(paths)}).")
        part = PARSERS[parser].func(paths, **(options or {}))
        part.obs_names = [f"{sample}:{c}" for c in part.obs_names]
        part.obs["sample_from_file"] = sample
        parts.append(part)
    return ad.concat(parts, join="outer", merge="first", fill_value=0) if len(parts) > 1 else parts[0]
