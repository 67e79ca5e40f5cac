"""One schema for bulk tumour cohorts and multi-region atlases: one row per sample.

After :func:`harmonise_bulk` an AnnData holds

``.obs``
    ``patient``, ``sample``, ``region`` (the sample's position in a multi-region
    tumour; ``"none"`` for cohorts), ``cohort`` (the dataset id), ``histology``,
    ``grade`` (``I``-``IV``; ``IV`` for glioblastoma and gliosarcoma when the cohort
    leaves the grade empty, counted in ``.uns["neurosig"]["samples"]``), ``idh``
    (``mutant``/``wildtype``/NA), ``subtype`` (the
    published call, e.g. GlioVis' ``Subtype.ssgsea``), ``os_months``, ``os_event``
    (1 = died, 0 = censored), ``age``, ``purity`` (NaN when unknown), the fields the
    manifest's ``schema.numeric`` adds (atlas: distance to the periphery and centroid),
    and every other published column as ``author_<column>`` (numbers as floats, the rest
    as strings).
``.X``
    log2 expression on one scale per dataset, recorded in ``.uns["neurosig"]["transform"]``:
    published log2 intensities kept as they are (``log2_intensity``), linear TPM as
    ``log2(TPM + 1)``, raw counts as ``log2(CPM + 1)``.
``var_names``
    current gene symbols; R's syntactic names (``HLA.A``) are read as ``HLA-A`` when that
    is a symbol; duplicated symbols are averaged on the log2 scale.
``.uns["neurosig"]``
    ``modality`` (``bulk`` or ``multi_region``), ``transform``, ``value_type``, the
    gene report, ``survival`` (available or not, and why) and the dataset's provenance.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from .. import _keys
from .._provenance import package_versions, to_plain
from ..errors import InputDataError
from .genes import gene_tables

SCHEMA_VERSION = 1

#: Value types of bulk data and how each becomes log2 expression.
BULK_TRANSFORMS = {
    "log2_intensity": "X = log2 expression as published (microarray log2 intensities, not re-normalised)",
    "tpm": "X = log2(TPM + 1) of the published TPM",
    "counts": "X = log2(CPM + 1) of the published counts",
}

#: Histology values of samples that are not tumour (case-insensitive; matched at the start).
NON_TUMOUR = r"(?i)^\s*(non[- ]?tumou?r|normal( brain)?|control)\b"

#: The clinical fields of the schema, in column order.
FIELDS = ("histology", "grade", "idh", "subtype", "os_months", "os_event", "age", "purity")
#: Histologies whose WHO grade is IV by definition (WHO CNS 2007/2016: glioblastoma and its
#: variant gliosarcoma), used when a cohort publishes the histology but leaves the grade empty.
GRADE_IV_HISTOLOGIES = frozenset({"gbm", "glioblastoma", "gliosarcoma", "glioblastoma variant"})
_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV", "I": "I", "II": "II", "III": "III", "IV": "IV"}


def r_names_to_symbols(names: pd.Index) -> tuple[pd.Index, dict[str, str]]:
    """Read R's syntactic gene names: ``HLA.A`` -> ``HLA-A`` when the dashed name is a symbol.

    A name is changed only when it is not itself a known symbol and its dashed form is
    a current symbol or alias; every change is returned.
    """
    tables = gene_tables()
    known = tables.symbols
    out, changed = [], {}
    for n in map(str, names):
        if "." in n and n not in known and n not in tables.aliases:
            dashed = n.replace(".", "-")
            if dashed in known or dashed in tables.aliases:
                changed[n] = dashed
                out.append(dashed)
                continue
        out.append(n)
    return pd.Index(out), changed


def current_symbols(names: pd.Index) -> tuple[pd.Index, dict[str, str], int]:
    """Outdated symbols renamed when their current symbol is not measured too; unknown names kept."""
    tables = gene_tables()
    present = set(names)
    out, renamed = [], {}
    for n in names:
        target = tables.aliases.get(n) if n not in tables.symbols else None
        if target is not None and target not in present:
            renamed[n] = target
            out.append(target)
        else:
            out.append(n)
    unknown = sum(n not in tables.symbols for n in out)
    return pd.Index(out), renamed, unknown


def to_log2(mat: np.ndarray, value_type: str, source: str) -> np.ndarray:
    """Log2 expression from the published values (see :data:`BULK_TRANSFORMS`)."""
    if value_type not in BULK_TRANSFORMS:
        raise InputDataError(
            f"{source}: value type {value_type!r} is not a bulk scale; use one of "
            f"{', '.join(BULK_TRANSFORMS)}."
        )
    mat = np.asarray(mat, dtype=np.float64)
    finite = np.isfinite(mat)
    if not finite.all():
        raise InputDataError(
            f"{source}: {int((~finite).sum())} NaN or infinite expression values (e.g. sample "
            f"{int(np.argwhere(~finite)[0][0])}); remove or impute them before loading."
        )
    vmax = float(mat.max()) if mat.size else 0.0
    if value_type == "log2_intensity":
        if vmax > 25 or mat.min() < -5:
            raise InputDataError(
                f"{source}: declared log2 intensities but values run {mat.min():.3g} to {vmax:.4g}; "
                "linear values would be 'tpm' or 'counts'."
            )
        return mat
    if mat.min() < 0:
        raise InputDataError(f"{source}: negative values (min {mat.min():.3g}) in linear {value_type}.")
    if vmax <= 25:
        raise InputDataError(
            f"{source}: declared linear {value_type} but every value is <= {vmax:.3g}: this looks "
            "log-transformed already; declare value_type 'log2_intensity'."
        )
    if value_type == "counts":
        lib = mat.sum(axis=1, keepdims=True)
        mat = np.divide(mat, lib, out=np.zeros_like(mat), where=lib > 0) * 1e6
    return np.log2(mat + 1.0)


def _column(obs: pd.DataFrame, spec: dict[str, Any] | None, what: str) -> pd.Series | None:
    if spec is None:
        return None
    if "value" in spec:
        return pd.Series(spec["value"], index=obs.index, dtype=object)
    if "column" in spec:
        if spec["column"] not in obs:
            raise InputDataError(
                f"No column {spec['column']!r} for {what}; columns are {[str(c) for c in obs.columns]}."
            )
        return obs[spec["column"]].astype(object).where(obs[spec["column"]].notna(), None)
    pattern = re.compile(spec["from_cell_id"])
    values = []
    for sid in obs.index:
        m = pattern.search(str(sid))
        if m is None:
            raise InputDataError(
                f"Sample id {sid!r} does not match {spec['from_cell_id']!r}, used for {what}."
            )
        values.append(spec.get("format", "{0}").format(*(m.groups() or (m.group(0),))))
    return pd.Series(values, index=obs.index, dtype=object)


def _linked_patients(obs: pd.DataFrame, patient: pd.Series, spec: dict[str, Any]) -> pd.Series:
    """Samples of one tumour at two times (primary/recurrence) share one patient id.

    ``spec``: ``column`` names a partner; ``pattern`` (regex, one group) reads the
    partner's key from that value; ``key_column`` or ``key_from_id`` (regex on the sample
    id) gives each sample's key. Linked samples take the smallest patient id of their group.
    """
    link_pat = re.compile(spec.get("pattern", "^(.*)$"))
    if "key_column" in spec:
        keys = obs[spec["key_column"]].astype(str)
    else:
        rx = re.compile(spec["key_from_id"])
        keys = pd.Series(
            [(m.group(1) if (m := rx.search(str(s))) else str(s)) for s in obs.index], index=obs.index
        )
    by_key = {k: s for s, k in keys.items()}
    parent = {s: s for s in obs.index}

    def find(s):
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    for s, value in obs[spec["column"]].items():
        if value is None or pd.isna(value):
            continue
        m = link_pat.search(str(value))
        partner = by_key.get(m.group(1)) if m else None
        if partner is not None:
            a, b = find(s), find(partner)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups = pd.Series([find(s) for s in obs.index], index=obs.index)
    first = patient.groupby(groups).transform(lambda v: sorted(map(str, v))[0])
    return first.astype(str)


def _idh(values: pd.Series) -> pd.Series:
    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return None
        s = str(v).strip().lower()
        if s in {"1", "mutant", "mut", "mutated", "idh mutant", "idhmut"} or s.startswith("mutant"):
            return "mutant"
        if s in {"0", "wild-type", "wildtype", "wt", "wild type", "idhwt"}:
            return "wildtype"
        return None

    return values.map(one).astype("string")


def _grade(values: pd.Series) -> pd.Series:
    return values.map(lambda v: None if v is None or pd.isna(v) else _ROMAN.get(str(v).strip())).astype(
        "string"
    )


def _numeric(values: pd.Series | None, index: pd.Index) -> pd.Series:
    if values is None:
        return pd.Series(np.nan, index=index, dtype=float)
    return pd.to_numeric(values.astype(object).where(values.notna(), np.nan), errors="coerce").astype(float)


def harmonise_bulk(
    adata: ad.AnnData,
    *,
    dataset_id: str,
    value_type: str,
    schema: dict[str, Any],
    modality: str = "bulk",
    platform: str = "",
    provenance: dict[str, Any] | None = None,
) -> ad.AnnData:
    """Bring a parsed bulk dataset (samples x genes) to the bulk schema (module docstring).

    Parameters
    ----------
    adata
        Samples x genes, values as published, clinical columns in ``.obs``.
    dataset_id
        Written to ``.obs["cohort"]``.
    value_type
        ``log2_intensity``, ``tpm`` or ``counts``.
    schema
        The manifest's ``schema`` block: ``patient``, ``sample``, ``region``, one entry
        per clinical field (:data:`FIELDS`) naming its column, ``patient_links``,
        ``numeric`` (extra numeric columns kept under a new name).
    modality
        ``bulk`` or ``multi_region``.
    platform
        The expression platform (recorded; ESTIMATE's purity formula is for Affymetrix).
    provenance
        Extra records for ``.uns["neurosig"]``.
    """
    obs = adata.obs.copy()
    obs.index = pd.Index(obs.index.astype(str))
    if obs.index.has_duplicates:
        dups = obs.index[obs.index.duplicated()].unique()
        raise InputDataError(
            f"{dataset_id}: {len(dups)} duplicated sample ids (e.g. {', '.join(dups[:3])}); each "
            "sample must be one row. Remove duplicated profiles or make the ids unique."
        )
    x = to_log2(adata.X, value_type, dataset_id)
    names, r_renamed = r_names_to_symbols(adata.var_names)
    names, renamed, unknown = current_symbols(names)
    frame = pd.DataFrame(x, index=obs.index, columns=names)
    duplicated = sorted(set(names[names.duplicated(keep=False)]))
    if duplicated:
        frame = frame.T.groupby(level=0, sort=False).mean().T  # probe sets of one gene: log2 mean
    if frame.shape[1] < 100:
        raise InputDataError(
            f"{dataset_id}: only {frame.shape[1]} genes; a bulk profile needs the transcriptome "
            "(samples x genes, gene symbols as names)."
        )

    patient = _column(obs, schema.get("patient"), "patient")
    if patient is None:
        raise InputDataError(f"{dataset_id}: no patient field; name the patient column in the manifest.")
    if patient.isna().any():
        raise InputDataError(
            f"{dataset_id}: {int(patient.isna().sum())} samples have no patient id; the patient is "
            "the unit of replication and cannot be missing."
        )
    patient = patient.astype(str)
    if "patient_links" in schema:
        patient = _linked_patients(obs, patient, schema["patient_links"])
    sample = _column(obs, schema.get("sample"), "sample")
    region = _column(obs, schema.get("region"), "region")

    new = pd.DataFrame(index=obs.index)
    new["patient"] = patient.astype(str)
    new["sample"] = sample.astype(str) if sample is not None else pd.Series(obs.index, index=obs.index)
    new["region"] = region.astype(str) if region is not None else "none"
    new["cohort"] = dataset_id
    new["dataset"] = dataset_id
    cols = {f: _column(obs, schema.get(f), f) for f in FIELDS}
    new["histology"] = (
        cols["histology"] if cols["histology"] is not None else pd.Series(None, index=obs.index)
    ).astype("string")
    new["grade"] = (
        _grade(cols["grade"])
        if cols["grade"] is not None
        else pd.Series(pd.NA, index=obs.index, dtype="string")
    )
    implied = new["grade"].isna() & new["histology"].str.lower().isin(GRADE_IV_HISTOLOGIES).fillna(False)
    new.loc[implied, "grade"] = "IV"
    new["idh"] = (
        _idh(cols["idh"]) if cols["idh"] is not None else pd.Series(pd.NA, index=obs.index, dtype="string")
    )
    new["subtype"] = (
        cols["subtype"] if cols["subtype"] is not None else pd.Series(None, index=obs.index)
    ).astype("string")
    for f in ("os_months", "os_event", "age", "purity"):
        new[f] = _numeric(cols[f], obs.index)
    bad_event = new["os_event"].notna() & ~new["os_event"].isin([0.0, 1.0])
    if bad_event.any():
        bad = sorted(new.loc[bad_event, "os_event"].unique())[:3]
        raise InputDataError(
            f"{dataset_id}: the survival status column holds {bad}; it must be 1 (died) or 0 (censored)."
        )
    for name, col in schema.get("numeric", {}).items():
        if col not in obs:
            raise InputDataError(f"{dataset_id}: no column {col!r} for {name}.")
        new[name] = _numeric(obs[col], obs.index)
    used = {s["column"] for s in schema.values() if isinstance(s, dict) and "column" in s}
    for c in obs.columns:
        if str(c) in used:
            continue
        col = obs[c]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if numeric:  # published numbers stay numbers (the atlas' cell-type enrichment scores)
            new[f"author_{c}"] = pd.to_numeric(col, errors="coerce").astype(float)
        else:
            new[f"author_{c}"] = col.astype(object).where(col.notna(), "NA").astype(str)
    # samples the authors published as not tumour (Grzmil 2011's "Non-tumor" brain) are no
    # tumours: dropped, counted and said
    non_tumour = new["histology"].str.match(NON_TUMOUR, na=False).to_numpy(dtype=bool)
    dropped = {str(h): int(n) for h, n in new.loc[non_tumour, "histology"].value_counts().items()}
    if non_tumour.any():
        new, frame = new.loc[~non_tumour], frame.loc[~non_tumour]
        warnings.warn(
            f"{dataset_id}: {int(non_tumour.sum())} samples whose histology says they are not tumour "
            f"({', '.join(dropped)}) were left out.",
            UserWarning,
            stacklevel=2,
        )
    for c in ("patient", "sample", "region", "cohort", "dataset"):
        new[c] = new[c].astype("category")

    both = new["os_months"].notna() & new["os_event"].notna()
    survival = {
        "available": bool(both.any()),
        "n_samples": int(both.sum()),
        "n_events": int(new.loc[both, "os_event"].sum()),
        "reason": "" if both.any() else "no overall survival (months and status) in the published data",
    }
    out = ad.AnnData(X=frame.to_numpy(dtype=np.float32), obs=new, var=pd.DataFrame(index=frame.columns))
    record = {
        "schema_version": SCHEMA_VERSION,
        "dataset_id": dataset_id,
        "modality": modality,
        "value_type": value_type,
        "transform": BULK_TRANSFORMS[value_type],
        "platform": platform,
        "linear_layer": None,
        "genes": {
            "n_input_genes": int(adata.n_vars),
            "n_output_genes": int(out.n_vars),
            "r_names_read_as_symbols": len(r_renamed),
            "r_names_examples": dict(list(sorted(r_renamed.items()))[:20]),
            "renamed_aliases": len(renamed),
            "renamed_examples": dict(list(sorted(renamed.items()))[:20]),
            "averaged_duplicates": len(duplicated),
            "duplicate_examples": duplicated[:20],
            "unrecognised_symbols": int(unknown),
            "gene_table_source": gene_tables().source["source"],
        },
        "samples": {
            "n_samples": int(out.n_obs),
            "n_patients": int(new["patient"].nunique()),
            "grade_iv_from_histology": int(implied.sum()),
        },
        "survival": survival,
        "non_tumour_samples_dropped": dropped,
        "versions": package_versions(),
    }
    record.update(provenance or {})
    out.uns[_keys.UNS] = to_plain(record)
    return out
