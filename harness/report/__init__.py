"""The report: the plain claim record and its writers -- JSON (the contract), Markdown, HTML,
figures -- and the baseline comparison. Nothing here depends on the claim API or pytest
internals; the pytest hooks that feed it are in :mod:`fixtures.report`."""

from harness.report.record import ClaimRecord, FigureAttachment
from harness.report.schema import SCHEMA_VERSION, ReportSchemaError, validate_report

__all__ = [
    "SCHEMA_VERSION",
    "ClaimRecord",
    "FigureAttachment",
    "ReportSchemaError",
    "validate_report",
]
