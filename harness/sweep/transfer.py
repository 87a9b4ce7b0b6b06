"""Checkpoint files to workers: by a shared path or by Ray's object store, verified by sha256.

The driver hashes each checkpoint file and ships its bytes (:class:`Shipment`). A worker
uses the driver's path when it sees the same file there (same sha256: a shared file system
or the same machine); otherwise, or always with ``--checkpoint-transfer object-store``, it
writes the shipped bytes to a per-hash cache under its temporary directory, named like the
original (the report and dashboard name a checkpoint by its file name), and checks the hash
of what it wrote. A mismatch anywhere is an error for that unit, never a run on other
weights. A report made from a shipped copy names that copy's path in ``run.checkpoint``;
its ``checkpoint_sha256`` is the original's.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.policy.checkpoint import checkpoint_sha256
from harness.policy.errors import CheckpointError
from harness.report.atomic import atomic_write_bytes

TRANSFERS = ("auto", "object-store")
CACHE_DIR_NAME = "maze-claims-checkpoints"


class TransferError(RuntimeError):
    """Shipped checkpoint bytes that do not hash to what the driver read."""


@dataclass(frozen=True)
class Shipment:
    """A checkpoint file as the driver read it."""

    source: str  # the driver's absolute path
    sha256: str
    size: int


def read_for_shipping(path: str) -> tuple[Shipment, bytes] | None:
    """The file's shipment and bytes; None when the driver cannot read it (the unit then
    runs with the path as given, and its pytest run reports the problem)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return Shipment(path, hashlib.sha256(data).hexdigest(), len(data)), data


def file_sha256(path: str | Path) -> str | None:
    """The file's sha256; None when there is no readable file there."""
    try:
        return checkpoint_sha256(path)
    except (OSError, CheckpointError):
        return None


def cache_root() -> Path:
    return Path(tempfile.gettempdir()) / CACHE_DIR_NAME


def worker_checkpoint(
    shipment: Shipment, data: bytes, transfer: str = "auto"
) -> tuple[str, str | None]:
    """(path the worker reads, a note when it is not the driver's path); ``transfer`` is one
    of :data:`TRANSFERS`, checked where the engine is built."""
    if transfer == "auto" and file_sha256(Path(shipment.source)) == shipment.sha256:
        return shipment.source, None
    copy = cache_root() / shipment.sha256 / Path(shipment.source).name
    if file_sha256(copy) != shipment.sha256:
        got = hashlib.sha256(data).hexdigest()
        if got != shipment.sha256:
            raise TransferError(
                f"checkpoint {shipment.source} arrived with sha256 {got} ({len(data)} bytes); "
                f"the driver read {shipment.sha256} ({shipment.size} bytes)"
            )
        atomic_write_bytes(copy, data)
        if file_sha256(copy) != shipment.sha256:
            raise TransferError(f"checkpoint copy {copy} does not hash to {shipment.sha256}")
    why = "asked for" if transfer == "object-store" else "the driver's path is not this file here"
    return str(copy), f"read from a copy shipped through Ray's object store ({why}): {copy}"
