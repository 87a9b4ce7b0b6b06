"""Atomic file writes and the report directory layout (``reports/<timestamp>/``, ``latest``).

Each file is written to a temporary file in the same directory, flushed to disk and renamed
over the target, so a reader (or an interrupted run) sees the old file or the new one,
never half of one. ``latest`` is a symlink swapped atomically; where symlinks are not
allowed it is a copied directory replaced as a whole.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _FILE_MODE)  # mkstemp creates 0600; reports are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


class ReportDirError(OSError):
    """A report directory that cannot be created or written (checked before a run starts)."""


def check_report_dir(directory: Path, create: bool = True) -> None:
    """Make sure a report can be written to ``directory``: it is created (``create``) or its
    nearest existing ancestor must be a directory, and a probe file is written and removed
    there -- the only check that holds on read-only mounts and for root."""
    directory = Path(directory)
    existing = next((p for p in (directory, *directory.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ReportDirError(
            f"{directory} cannot be created: {existing} is a file, not a directory"
        )
    try:
        if create:
            directory.mkdir(parents=True, exist_ok=True)
            existing = directory
        if existing is not None:
            fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=existing)
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise ReportDirError(f"{directory} is not writable: {exc.strerror or exc}") from None


def new_report_dir(root: Path, now: datetime | None = None) -> Path:
    """A fresh ``root/<YYYYmmdd-HHMMSS>`` directory (suffixed -2, -3... if taken)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    root.mkdir(parents=True, exist_ok=True)
    for k in range(1, 1000):
        candidate = root / (stamp if k == 1 else f"{stamp}-{k}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise RuntimeError(f"could not create a fresh report directory under {root}")


def update_latest(root: Path, target: Path) -> Path:
    """Point ``root/latest`` at ``target``: an atomic symlink swap, else a copied directory."""
    link = root / "latest"
    tmp = root / f".latest-{os.getpid()}.tmp"
    try:
        if tmp.is_symlink() or tmp.exists():
            _remove(tmp)
        os.symlink(os.path.relpath(target, root), tmp, target_is_directory=True)
        if link.exists() and not link.is_symlink():
            _remove(link)
        os.replace(tmp, link)
    except OSError:
        _remove(tmp)
        copy = root / f".latest-{os.getpid()}.copy"
        _remove(copy)
        shutil.copytree(target, copy)
        _remove(link)
        os.replace(copy, link)
    return link


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
