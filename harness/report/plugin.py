"""The report plugin: records travel with test reports, the controller writes the report.

Each claim test's record is attached, as plain data, to its call-phase ``TestReport``.
pytest-xdist serializes report attributes to the controller, so the controller receives
every record through ``pytest_runtest_logreport`` exactly as in a serial run -- no side
files, nothing lost when a worker ends, and the report is built in one place from the same
data. The document is written at session end (atomic files), then summarized in the
terminal.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness.claims import ClaimOptions, ClaimSpec, ClaimSpecError, RunMetadata
from harness.report.atomic import new_report_dir, update_latest
from harness.report.baseline import BaselineError, compare, load_baseline
from harness.report.build import build_report
from harness.report.record import ClaimRecord
from harness.report.terminal import summary_lines
from harness.report.writer import write_report

RECORD_KEY = pytest.StashKey[ClaimRecord]()
#: Attribute names on TestReport objects (serialized by xdist with the report).
RECORD_ATTR = "maze_claims_record"
META_ATTR = "maze_claims_meta"
NO_CONCLUSION = (
    "claim test ended without a verdict: a @pytest.mark.claim test must use the `claim` "
    "fixture and call claim.conclude(result)"
)


def record_id(item: pytest.Item, spec: ClaimSpec) -> str:
    """The claim id plus the parametrization, unique per test: ``CV4[offset2]``."""
    callspec = getattr(item, "callspec", None)
    return f"{spec.id}[{callspec.id}]" if callspec is not None else spec.id


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0] if crash.message else ""
    text = str(report.longrepr or "").strip().splitlines()
    return text[-1] if text else ""


class ReportPlugin:
    """Collects claim records and writes the report (controller side only)."""

    def __init__(self, config: pytest.Config, options: ClaimOptions, metadata: RunMetadata):
        self.config = config
        self.options = options
        self.metadata = metadata
        self.records: dict[str, ClaimRecord] = {}
        self.errors: dict[tuple[str, str], dict[str, Any]] = {}
        self.skipped: dict[str, dict[str, Any]] = {}
        self.report: dict[str, Any] | None = None
        self.report_dir: Path | None = None
        self.write_error: str | None = None
        self.started = time.time()
        self.baseline: dict[str, Any] | None = None
        if options.baseline is not None and not is_worker(config):
            try:
                self.baseline = load_baseline(options.baseline)
            except BaselineError as exc:
                raise pytest.UsageError(f"--baseline: {exc}") from None

    # -- worker / serial side: attach the record to the test report ---------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]):
        report = yield
        mark = item.get_closest_marker("claim")
        if mark is None:
            return report
        try:
            spec = ClaimSpec.from_marker(mark)
        except ClaimSpecError:
            return report
        setattr(report, META_ATTR, {"id": record_id(item, spec), "claim_id": spec.id})
        if call.when != "call":
            return report
        record = item.stash.get(RECORD_KEY, None)
        if record is None or record.result is None:
            if report.passed:
                report.outcome = "failed"
                report.longrepr = NO_CONCLUSION
            return report
        record.wall_time_s = round(call.duration, 6)
        record.run = {
            **self.metadata.as_dict(),
            "budget": self.options.budget,
            "base_seed": self.options.base_seed,
            "alpha": self.options.alpha,
            "sequential": self.options.sequential,
        }
        item.config.hook.pytest_claims_record(record=record, item=item)
        setattr(report, RECORD_ATTR, record.to_dict())
        return report

    # -- controller side: collect -------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        meta = getattr(report, META_ATTR, None)
        if meta is None:
            return
        data = getattr(report, RECORD_ATTR, None)
        if data is not None:
            record = ClaimRecord.from_dict(data)
            record.outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
            self.records[report.nodeid] = record
            return
        entry = {
            "nodeid": report.nodeid,
            "id": meta["id"],
            "claim_id": meta["claim_id"],
            "phase": report.when,
            "outcome": report.outcome,
            "message": _message(report),
        }
        if report.failed:
            self.errors[(report.nodeid, report.when or "")] = entry
        elif report.skipped and report.nodeid not in self.records:
            self.skipped[report.nodeid] = entry

    # -- controller side: write ---------------------------------------------------------
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if is_worker(self.config) or exitstatus == pytest.ExitCode.USAGE_ERROR:
            return
        if not (self.records or self.errors or self.options.report_dir is not None):
            return
        report = build_report(
            self.records.values(),
            options=self.options.as_dict(),
            metadata=self.metadata.as_dict(),
            errors=self.errors.values(),
            timing={
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "duration_s": round(time.time() - self.started, 3),
            },
            interrupted=exitstatus == pytest.ExitCode.INTERRUPTED,
        )
        report["skipped"] = sorted(self.skipped.values(), key=lambda e: e["nodeid"])
        if self.baseline is not None:
            assert self.options.baseline is not None
            compare(report, self.baseline, self.options.baseline)
        self.config.hook.pytest_claims_report(report=report, config=self.config)
        self.report = report
        try:
            directory = self._directory()
            paths = write_report(report, self.records.values(), directory)
            if self.options.report_dir is None:
                update_latest(directory.parent, directory)
        except OSError as exc:
            self.write_error = f"report not written: {exc}"
            return
        self.report_dir = directory
        self.config.hook.pytest_claims_report_written(
            paths=paths, report=report, config=self.config
        )

    def _directory(self) -> Path:
        if self.options.report_dir is not None:
            directory = self.options.report_dir
            directory.mkdir(parents=True, exist_ok=True)
            return directory
        return new_report_dir(self.config.rootpath / "reports")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.write_error:
            terminalreporter.write_line(f"maze-claims: {self.write_error}", red=True)
        if self.report is None:
            return
        terminalreporter.write_sep("=", "maze-claims summary")
        for line in summary_lines(self.report, self.report_dir):
            terminalreporter.write_line(line)
