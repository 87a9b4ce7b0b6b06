"""The report plugin and its writers: JSON (the contract), Markdown, HTML, figures, baseline."""

from harness.report.record import ClaimRecord, FigureAttachment
from harness.report.schema import SCHEMA_VERSION, ReportSchemaError, validate_report

__all__ = [
    "SCHEMA_VERSION",
    "ClaimRecord",
    "FigureAttachment",
    "ReportSchemaError",
    "validate_report",
]
