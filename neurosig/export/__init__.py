"""Exports (pipeline stage *export*).

Per-patient scores and their data dictionary, the run's tables, the HTML report, provenance.
"""

from .patient_scores import data_dictionary, neural_immune_index, patient_scores, write_patient_scores
from .pool import pool_runs
from .report import render_report
from .run import cells_for_export, run_provenance, write_run

__all__ = [
    "cells_for_export",
    "data_dictionary",
    "neural_immune_index",
    "patient_scores",
    "pool_runs",
    "render_report",
    "run_provenance",
    "write_patient_scores",
    "write_run",
]
