"""A directory database of counterexamples, replayed before the next search.

``--counterexample-db DIR``, like hypothesis' example database: each counterexample a
search finds is saved under its claim record id and the checkpoint's sha256, and the next
run on the same policy re-tests the saved mazes before it searches.
The layout (one entry = two files)::

    DIR/<checkpoint_sha256[:16]>/<safe record id>/<maze content_hash>.bin   procgen state bytes
    DIR/<checkpoint_sha256[:16]>/<safe record id>/<maze content_hash>.json  sidecar

The sidecar holds what the bytes do not say: whether the maze is lifted (read back with
``Maze.from_state(bytes, lift=True)``), its level seed, size, the description it was found
under, the full record id and checkpoint sha256, and ``first_found`` (the budget, base seed
and search kind of the run that found it -- no timestamps, so a replay reads the same in
every report). On read the bytes' sha256 must equal the file name and the sidecar's hash,
and the maze must re-encode to the same bytes; an entry that fails any check (or cannot be
read) is skipped with a note, never used and never a crash.

Writes are atomic (temporary file and ``os.replace``), bytes before sidecar, so a reader
sees no entry or a whole one; writing an entry that is already there changes nothing
(pytest-xdist workers write different claims' directories, and the same entry twice is
harmless). At most :data:`DEFAULT_CAP` entries are kept per key, the smallest mazes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.maze.maze import Maze
from harness.report.atomic import atomic_write_bytes, atomic_write_text

#: Entries kept per (checkpoint, claim) key: the smallest mazes, then by hash.
DEFAULT_CAP = 20
#: Sidecar format; an entry of another format is skipped with a note.
FORMAT = 1
#: Characters of the checkpoint sha256 in its directory name.
CHECKPOINT_PREFIX = 16
_HASH = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def safe_key(record_id: str) -> str:
    """A directory name for a record id (``CV4[offset=2]`` -> ``CV4_offset=2_-1a2b3c4d``):
    unsafe characters become ``_`` and a short hash of the id keeps distinct ids apart."""
    readable = _UNSAFE.sub("_", record_id).strip("._") or "claim"
    return f"{readable[:80]}-{hashlib.sha256(record_id.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class Entry:
    """A saved counterexample, read back and verified."""

    maze: Maze
    description: str
    seed: int | None
    first_found: Mapping[str, Any] = field(default_factory=dict)

    @property
    def hash(self) -> str:
        return self.maze.content_hash


@dataclass(frozen=True)
class Loaded:
    """The verified entries of a key (smallest first) and what was skipped, as notes."""

    entries: tuple[Entry, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class CounterexampleDB:
    """The database under ``root`` (see the module docstring for the layout)."""

    root: Path
    cap: int = DEFAULT_CAP

    def key_dir(self, record_id: str, checkpoint_sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-fA-F]{16,}", checkpoint_sha256 or ""):
            raise ValueError(f"checkpoint sha256 must be hex, got {checkpoint_sha256!r}")
        prefix = checkpoint_sha256.lower()[:CHECKPOINT_PREFIX]
        return Path(self.root) / prefix / safe_key(record_id)

    # -- read ---------------------------------------------------------------------------
    def load(self, record_id: str, checkpoint_sha256: str) -> Loaded:
        """The verified entries saved for this claim and checkpoint, smallest maze first
        (then by hash: the same order in every run); a missing key is no entries."""
        directory = self.key_dir(record_id, checkpoint_sha256)
        entries: list[Entry] = []
        problems: list[str] = []
        try:
            names = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
        except OSError as exc:
            return Loaded((), (f"counterexample database {directory} is unreadable: {exc}",))
        stems = {n[: -len(".json")] for n in names if n.endswith(".json")}
        for name in names:
            if name.endswith(".bin") and name[: -len(".bin")] not in stems:
                problems.append(
                    f"counterexample database entry {directory / name} has no sidecar "
                    "(.json); skipped"
                )
        for stem in sorted(stems):
            try:
                entries.append(self._read(directory, stem, record_id, checkpoint_sha256))
            except (OSError, ValueError, TypeError, KeyError) as exc:
                problems.append(
                    f"counterexample database entry {directory / stem}.bin skipped: "
                    f"{type(exc).__name__}: {exc}"
                )
        entries.sort(key=lambda e: (e.maze.size, e.hash))
        return Loaded(tuple(entries), tuple(problems))

    def _read(self, directory: Path, stem: str, record_id: str, checkpoint_sha256: str) -> Entry:
        if not _HASH.fullmatch(stem):
            raise ValueError("the file name is not a sha256 content hash")
        meta = json.loads((directory / f"{stem}.json").read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"sidecar is not format {FORMAT}")
        if meta.get("hash") != stem:
            raise ValueError(f"sidecar names hash {meta.get('hash')!r}, not the file's")
        if meta.get("record_id") != record_id:
            raise ValueError(f"sidecar is for claim {meta.get('record_id')!r}, not {record_id}")
        if str(meta.get("checkpoint_sha256", "")).lower() != checkpoint_sha256.lower():
            raise ValueError("sidecar is for another checkpoint (same sha256 prefix)")
        data = (directory / f"{stem}.bin").read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != stem:
            raise ValueError(f"sha256 of the bytes is {digest[:12]}..., not the file name")
        lifted = meta.get("lifted")
        if not isinstance(lifted, bool):
            raise ValueError("sidecar has no boolean 'lifted'")
        maze = Maze.from_state(data, lift=lifted)  # MazeError is a ValueError
        if maze.content_hash != stem or maze.lifted != lifted:
            raise ValueError("the state does not read back to the saved maze")
        seed = meta.get("seed")
        first = meta.get("first_found")
        return Entry(
            maze=maze,
            description=str(meta.get("description", "")),
            seed=None if seed is None else int(seed),
            first_found=dict(first) if isinstance(first, dict) else {},
        )

    # -- write --------------------------------------------------------------------------
    def save(
        self,
        record_id: str,
        checkpoint_sha256: str,
        maze: Maze,
        description: str,
        first_found: Mapping[str, Any] | None = None,
    ) -> bool:
        """Save a counterexample; False when it was already there (nothing is rewritten:
        its first ``first_found`` stays) or when the cap keeps smaller mazes instead.
        OSError propagates (the caller turns it into a note)."""
        directory = self.key_dir(record_id, checkpoint_sha256)
        stem = maze.content_hash
        data = maze.state_bytes()
        bin_path, json_path = directory / f"{stem}.bin", directory / f"{stem}.json"
        if self._present(bin_path, json_path, stem):
            return False
        meta = {
            "format": FORMAT,
            "hash": stem,
            "lifted": bool(maze.lifted),
            "size": maze.size,
            "seed": maze.seed,
            "description": str(description),
            "record_id": record_id,
            "checkpoint_sha256": checkpoint_sha256.lower(),
            "first_found": dict(first_found or {}),
        }
        atomic_write_bytes(bin_path, data)
        atomic_write_text(json_path, json.dumps(meta, indent=1, sort_keys=True) + "\n")
        self._prune(directory)
        return json_path.exists()

    @staticmethod
    def _present(bin_path: Path, json_path: Path, stem: str) -> bool:
        try:
            return (
                hashlib.sha256(bin_path.read_bytes()).hexdigest() == stem
                and json.loads(json_path.read_text(encoding="utf-8")).get("hash") == stem
            )
        except (OSError, ValueError, AttributeError):
            return False  # absent or damaged: (re)write it

    def _prune(self, directory: Path) -> None:
        """Keep the ``cap`` smallest entries (size from the sidecar, then hash)."""
        ranked = []
        for sidecar in directory.glob("*.json"):
            try:
                size = int(json.loads(sidecar.read_text(encoding="utf-8"))["size"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged entry is reported on load, not deleted here
            ranked.append((size, sidecar.stem))
        ranked.sort()
        for _size, stem in ranked[self.cap :]:
            (directory / f"{stem}.json").unlink(missing_ok=True)
            (directory / f"{stem}.bin").unlink(missing_ok=True)


def parse_db_option(value: str | None) -> str | None:
    """``--counterexample-db``'s value: None (or 'none', 'off') turns the database off."""
    if value is None or value.strip().lower() in ("", "none", "off"):
        return None
    return value
