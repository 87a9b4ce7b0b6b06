"""What the sweep shows while it runs: one line per finished unit, and a progress bar.

The lines go to stdout (scripts read them: ``sweep [k/N] name: ...``); the bar, over units
with how many are done, running and failed, goes to stderr and only to a terminal.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

from harness.sweep.unit import LOG_NAME, UnitResult


def progress_line(k: int, total: int, result: UnitResult) -> str:
    head = f"sweep [{k}/{total}] {result.name}:"
    outcome = result.outcome
    if outcome is None:
        return f"{head} already done (same checkpoint and options in {result.report_json}), skipped"
    retried = f", {result.attempts} attempts" if result.attempts > 1 else ""
    if not outcome.ok:
        log = result.report_dir / LOG_NAME
        where = f" (log: {log})" if log.is_file() else ""
        return f"{head} FAILED{retried}, {outcome.error}{where}"
    s = outcome.summary
    counts = ", ".join(f"{s.get(v, 0)} {v}" for v in ("supported", "refuted", "inconclusive"))
    errors = f", {s['errors']} errors" if s.get("errors") else ""
    return f"{head} {counts}{errors} ({outcome.seconds:.0f} s{retried})"


class Progress:
    """Counts units as they start and finish; prints their lines above the bar."""

    def __init__(self, total: int, engine: str):
        self.total = total
        self.lines = 0
        self.running: set[str] = set()
        self.failed = 0
        self.stdout = sys.stdout  # engines may redirect sys.stdout while they run
        self.bar = tqdm(
            total=total, desc=f"sweep ({engine})", unit="unit", file=sys.stderr, disable=None
        )
        self._refresh()

    def _refresh(self) -> None:
        done = self.lines - self.failed
        self.bar.set_postfix_str(
            f"done {done}, running {len(self.running)}, failed {self.failed}", refresh=True
        )

    def started(self, name: str) -> None:
        self.running.add(name)
        self._refresh()

    def finished(self, result: UnitResult) -> None:
        self.running.discard(result.name)
        self.lines += 1
        self.failed += not result.ok
        self.bar.update(1)
        self._refresh()
        tqdm.write(progress_line(self.lines, self.total, result), file=self.stdout)
        self.stdout.flush()

    def close(self) -> None:
        self.bar.close()
