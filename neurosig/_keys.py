"""Every key neurosig reads or writes in an AnnData's ``.uns`` and ``.obsm``, named once.

neurosig's records live under ``.uns["neurosig"]`` (:data:`UNS`), one entry per stage;
:func:`record` reads that dictionary (empty when absent), :func:`store` creates it.
"""

from __future__ import annotations

from typing import Any

#: ``.uns[UNS]``: neurosig's records (also the key of a scores frame's ``.attrs``).
UNS = "neurosig"

# ---- entries of .uns["neurosig"]
#: the dataset's id (harmonise)
DATASET_ID = "dataset_id"
#: input files and their hashes (harmonise)
FILES = "files"
#: the cells kept and dropped, unmapped labels (harmonise)
CELLS = "cells"
#: the transform of X (harmonise)
TRANSFORM = "transform"
#: the linear (counts/TPM) layer (harmonise)
LINEAR_LAYER = "linear_layer"
#: the harmonised schema's version (harmonise)
SCHEMA_VERSION = "schema_version"
#: the manifest entry's citation, accession and licence (harmonise)
DATASET = "dataset"
#: how the published files were parsed (harmonise)
PARSER = "parser"
#: metadata tables joined onto the cells, and how many matched (harmonise)
OBS_JOINS = "obs_joins"
#: the published values' type and its description (harmonise)
VALUE_TYPE = "value_type"
VALUE_TYPE_DESCRIPTION = "value_type_description"
#: the per-cell library size of the log normalisation (harmonise)
TARGET_SUM = "target_sum"
#: genes renamed, merged and dropped (harmonise)
GENES = "genes"
#: the versions of neurosig and its dependencies (harmonise, sim)
NEUROSIG_VERSION = "neurosig_version"
VERSIONS = "versions"
#: where the data came from (pipeline)
SOURCE = "source"
#: the run's parameters (pipeline)
RUN_PARAMETERS = "run_parameters"
#: cell-type annotation (annotate)
ANNOTATION = "annotation"
#: CellTypist labels (annotate)
CELLTYPIST = "celltypist"
#: copy-number calls (annotate)
CNV = "cnv"
#: Neftel states (annotate)
NEFTEL_STATES = "neftel_states"
#: ``scores[key]``: how the scores in ``.obsm[key]`` were computed (score)
SCORES = "scores"
#: ``pseudobulk[method]``: pseudobulk scores (score)
PSEUDOBULK = "pseudobulk"
#: ligand-receptor tables and parameters (communicate)
COMMUNICATION = "communication"
#: claim tests: evidence, per-patient rows (claims)
CLAIMS = "claims"
#: what the run changed or could not do, one sentence each: warned and shown atop the report
NOTICES = "notices"
#: the simulator's parameters and planted truth (sim)
SIMULATION = "simulation"
#: the kind of data: ``bulk``, ``multi_region`` (one row per sample) or, when absent, single-cell
MODALITY = "modality"
#: samples and patients of a bulk cohort (the ``cells`` record of single-cell data)
SAMPLES = "samples"
#: the expression platform of a bulk cohort (ESTIMATE's purity formula is for Affymetrix)
PLATFORM = "platform"
#: whether and for how many samples overall survival is known (bulk cohorts)
SURVIVAL = "survival"
#: samples the authors published as not tumour, left out, by histology (bulk cohorts)
NON_TUMOUR_DROPPED = "non_tumour_samples_dropped"
#: the cohort's age group for pooling (``adult`` or ``paediatric``; bulk cohorts)
COHORT_GROUP = "cohort_group"

# ---- .obsm keys
#: the library scored with ``score_genes`` (pipeline, export, plots)
SCORE_GENES = "neurosig_score_genes"
#: marker scores of the cell-type annotation
MARKERS = "neurosig_markers"
#: scores the claims engine computes for a moment and removes
CLAIMS_TMP = "neurosig_claims_tmp"
#: Neftel's six module scores
NEFTEL_MODULES = "neftel_modules"
#: Neftel's two-dimensional state map (x, y)
NEFTEL_STATE_MAP = "neftel_state_map"
#: infercnvpy's copy-number matrix
X_CNV = "X_cnv"
#: per-sample ssGSEA scores of bulk data (samples x signatures; the claims' default source)
SSGSEA = "neurosig_ssgsea"


def score_key(method: str) -> str:
    """The default ``.obsm`` key of a scoring method's scores."""
    return f"{UNS}_{method}"


def record(adata: Any) -> dict:
    """``adata.uns["neurosig"]``, or an empty dictionary when there is none (not stored)."""
    return adata.uns.get(UNS, {})


def store(adata: Any) -> dict:
    """``adata.uns["neurosig"]``, created empty when there is none."""
    return adata.uns.setdefault(UNS, {})
