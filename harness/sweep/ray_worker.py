"""The body of one Ray task: check the worker, obtain the checkpoint, run the unit.

Imported by name on the worker (Ray pickles :func:`run_unit_task` by reference), so a
worker needs maze-claims installed from the same source checkout as the driver; the
fingerprint check makes a different one an error for the unit instead of a different
report. Every failure with a reason comes back as a failed :class:`UnitOutcome` (no retry:
it would fail again); only a worker that dies is retried, by Ray.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.sweep.fingerprint import Fingerprint, fingerprint
from harness.sweep.plan import Unit
from harness.sweep.transfer import Shipment, TransferError, worker_checkpoint
from harness.sweep.unit import UnitOutcome, read_tree, run_pytest


def run_unit_task(
    unit: Unit,
    shipment: Shipment | None,
    data: bytes | None,
    starts: Any,
    driver: Fingerprint,
    transfer: str,
    verbose: bool,
) -> UnitOutcome:
    """Run ``unit`` in this worker; its report comes back as files in the outcome.

    ``data`` is the checkpoint's bytes, which Ray fetches before the task starts (a task
    that waits for an object inside lends its CPUs to another task); ``starts`` is the
    driver's :class:`~harness.sweep.ray_engine.StartLog`, told of every attempt.
    """
    starts.started.remote(unit.name)  # not awaited: see StartLog
    try:
        differences = driver.differences(fingerprint())
    except UsageError as exc:  # no source checkout on this worker
        return UnitOutcome.failed(f"worker {os.uname().nodename}: {exc}")
    if differences:
        return UnitOutcome.failed(
            f"worker {os.uname().nodename} runs another maze-claims than the driver "
            f"(driver vs worker: {'; '.join(differences)}): install the same checkout there"
        )
    checkpoint, note = None, None
    if shipment is not None:
        try:
            checkpoint, note = worker_checkpoint(shipment, data or b"", transfer)
        except TransferError as exc:
            return UnitOutcome.failed(str(exc))
    work = Path(tempfile.mkdtemp(prefix=f"maze-claims-{unit.name}-"))
    try:
        outcome = run_pytest(unit, work, checkpoint=checkpoint, verbose=verbose)
        outcome.files = read_tree(work)
        outcome.checkpoint_note = note
        return outcome
    finally:
        shutil.rmtree(work, ignore_errors=True)
