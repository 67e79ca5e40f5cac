"""Preprocessing and quality control (scanpy's ``pp`` namespace)."""

from ._qc import qc_table, summary_table

__all__ = ["qc_table", "summary_table"]
