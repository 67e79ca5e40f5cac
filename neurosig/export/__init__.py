"""Exports: per-patient scores with their data dictionary, the run's tables and the HTML report."""

from .patient_scores import data_dictionary, neural_immune_index, patient_scores, write_patient_scores

__all__ = ["data_dictionary", "neural_immune_index", "patient_scores", "write_patient_scores"]
