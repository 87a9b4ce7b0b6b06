"""Hooks of the report plugin: a small set over the plain :class:`ClaimRecord` and report dict.

Implement them in a conftest.py or plugin, e.g. to attach vector-field figures to every
record of a family or to push the finished report to a dashboard.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.report.record import ClaimRecord


@pytest.hookspec
def pytest_claims_record(record: ClaimRecord, item: pytest.Item) -> None:
    """A claim's record is complete (on the process that ran the test, before it is sent to
    the report). Implementations may add notes, figures, interventions or metadata."""


@pytest.hookspec
def pytest_claims_report(report: dict[str, Any], config: pytest.Config) -> None:
    """The report document is built (controller, after all workers). It may be annotated in
    place; it is written right after."""


@pytest.hookspec
def pytest_claims_report_written(
    paths: dict[str, Any], report: dict[str, Any], config: pytest.Config
) -> None:
    """The report files were written (``paths`` maps 'json', 'html', 'markdown', ...)."""
