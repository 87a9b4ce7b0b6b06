"""Files of mazes: what the reference tooling saves, and this project's own plain format.

Read (:func:`load_mazes`):

* a **pickle** of a list (or tuple) of procgen state bytes, as procgen-tools saves its
  demo mazes, or of a single state -- through :mod:`harness.maze.safe_pickle`, which
  refuses anything that needs code without running it;
* a **raw state** file (the bytes of one ``get_state``);
* a **directory** in this project's format: one ``NNNN.bin`` raw state per maze and a
  ``mazes.json`` manifest giving their order and sha256 (checked on every read). A
  directory without a manifest is read as its ``*.bin`` files in name order.

States open outside their inner grid are lifted to world-sized mazes
(:meth:`harness.maze.maze.Maze.from_state`). Every maze is identified by the sha256 of the
state it renders from (:attr:`Maze.content_hash`); :func:`write_maze_dir` writes exactly
those bytes, so ``sha256sum DIR/*.bin`` lists the hashes a report shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from harness.maze.codec import StateFormatError
from harness.maze.maze import Maze, MazeError
from harness.maze.safe_pickle import MazeFileError, UnsafePickleError, load_states

MANIFEST = "mazes.json"
FORMAT = "maze-claims/mazes"
FORMAT_VERSION = 1
#: Larger files are refused before reading: a state is about 23 KB, so this is ~23,000 mazes.
MAX_FILE_BYTES = 512 * 1024 * 1024
#: The first bytes of every procgen state (``SERIALIZE_VERSION`` 0 as an int32).
STATE_PREFIX = b"\x00\x00\x00\x00"

__all__ = [
    "MazeFileError",
    "MazeSet",
    "UnsafePickleError",
    "load_mazes",
    "write_maze_dir",
]


@dataclass(frozen=True, eq=False)
class MazeSet:
    """Mazes read from a file or directory, in file order, with where each came from."""

    mazes: tuple[Maze, ...]
    labels: tuple[str, ...]  # () numbers them
    source: str
    kind: str  # "pickle", "state" or "directory"
    #: sha256 of each maze's state as found in the source (equal to its content hash unless
    #: the state was normalized, e.g. a mouse between cells); () means the content hashes.
    source_hashes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.mazes)
        if not self.labels:
            object.__setattr__(self, "labels", tuple(str(i) for i in range(n)))
        if not self.source_hashes:
            object.__setattr__(self, "source_hashes", self.hashes)
        if not len(self.labels) == len(self.source_hashes) == n:
            raise ValueError(
                f"a MazeSet needs one label and one source hash per maze: {n} mazes, "
                f"{len(self.labels)} labels, {len(self.source_hashes)} hashes"
            )

    def __len__(self) -> int:
        return len(self.mazes)

    @property
    def hashes(self) -> tuple[str, ...]:
        return tuple(m.content_hash for m in self.mazes)

    @cached_property
    def sha256(self) -> str:
        """The set's identity: sha256 over its mazes' hashes in order."""
        return hashlib.sha256("\n".join(self.hashes).encode()).hexdigest()

    @property
    def lifted(self) -> int:
        return sum(m.lifted for m in self.mazes)

    @property
    def normalized(self) -> int:
        """States whose bytes this project writes differently (see ``source_hashes``)."""
        return sum(a != b for a, b in zip(self.source_hashes, self.hashes, strict=True))

    def describe(self) -> str:
        lifted = f", {self.lifted} lifted to the world" if self.lifted else ""
        return (
            f"{len(self)} given mazes from {self.source} ({self.kind}{lifted}; "
            f"set sha256 {self.sha256[:12]})"
        )

    def to_dict(self) -> dict[str, Any]:
        """What a report's run header says about the mazes."""
        return {
            "source": self.source,
            "kind": self.kind,
            "count": len(self),
            "lifted": self.lifted,
            "sha256": self.sha256,
        }


# ------------------------------------------------------------------ reading
def load_mazes(path: str | Path) -> MazeSet:
    """The mazes in ``path`` (a pickle, a raw state, or a maze directory); see the module."""
    p = Path(path)
    if p.is_dir():
        return _from_directory(p)
    if not p.exists():
        raise MazeFileError(f"no maze file or directory at {p}")
    data = _read_bytes(p)
    if data.startswith(STATE_PREFIX):
        kind, states = "state", [data]
    else:
        kind, states = "pickle", load_states(data, f"{p}")
    labels = [f"{p.name}[{i}]" for i in range(len(states))] if kind == "pickle" else [p.name]
    return _build(states, labels, str(p), kind)


def _read_bytes(p: Path) -> bytes:
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise MazeFileError(
            f"{p} has {size:,} bytes, more than the {MAX_FILE_BYTES:,} a maze file may have"
        )
    return p.read_bytes()


def _from_directory(d: Path) -> MazeSet:
    manifest = d / MANIFEST
    bins = sorted(f.name for f in d.glob("*.bin") if f.is_file())
    if manifest.exists():
        entries = _read_manifest(manifest)
        listed = [e["file"] for e in entries]
        extra = sorted(set(bins) - set(listed))
        if extra:
            raise MazeFileError(
                f"{d} holds {len(extra)} .bin files its {MANIFEST} does not list "
                f"({', '.join(extra[:3])}{' ...' if len(extra) > 3 else ''}); remove them, or "
                f"remove {MANIFEST} to read every .bin file in name order"
            )
        states = []
        for e in entries:
            f = d / e["file"]
            if not f.is_file():
                raise MazeFileError(f"{manifest} lists {e['file']}, which is not in {d}")
            data = _read_bytes(f)
            digest = hashlib.sha256(data).hexdigest()
            if digest != e["sha256"]:
                raise MazeFileError(
                    f"{f} has sha256 {digest[:12]}..., but {MANIFEST} records "
                    f"{e['sha256'][:12]}...: the file changed after it was written"
                )
            states.append(data)
        return _build(states, listed, str(d), "directory")
    if not bins:
        raise MazeFileError(f"{d} holds no mazes: no {MANIFEST} and no .bin state files")
    states = [_read_bytes(d / name) for name in bins]
    return _build(states, bins, str(d), "directory")


def _read_manifest(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MazeFileError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise MazeFileError(f"{path} is not a maze manifest (no 'format': {FORMAT!r})")
    if data.get("version") != FORMAT_VERSION:
        raise MazeFileError(
            f"{path} has manifest version {data.get('version')!r}; this version reads "
            f"{FORMAT_VERSION}"
        )
    entries = data.get("mazes")
    ok = isinstance(entries, list) and all(
        isinstance(e, dict) and isinstance(e.get("file"), str) and isinstance(e.get("sha256"), str)
        for e in entries
    )
    if not ok:
        raise MazeFileError(f"{path}: 'mazes' must be a list of {{'file', 'sha256', ...}} entries")
    names = [e["file"] for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise MazeFileError(f"{path} lists {', '.join(twice[:3])} more than once")
    bad = [n for n in names if Path(n).name != n or not n.endswith(".bin")]
    if bad:
        raise MazeFileError(f"{path} lists files outside its directory or not .bin: {bad[:3]}")
    return entries


def _build(states: Sequence[bytes], labels: Sequence[str], source: str, kind: str) -> MazeSet:
    if not states:
        raise MazeFileError(f"{source} holds no mazes (an empty list)")
    mazes = []
    for label, data in zip(labels, states, strict=True):
        try:
            mazes.append(Maze.from_state(data, lift=True))
        except (StateFormatError, MazeError) as exc:
            raise MazeFileError(f"{source}: maze {label} cannot be read: {exc}") from None
    return MazeSet(
        mazes=tuple(mazes),
        labels=tuple(labels),
        source=source,
        kind=kind,
        source_hashes=tuple(hashlib.sha256(s).hexdigest() for s in states),
    )


# ------------------------------------------------------------------ writing
def write_maze_dir(maze_set: MazeSet, out: str | Path) -> list[Path]:
    """Write ``maze_set`` as a maze directory (``NNNN.bin`` + ``mazes.json``) into ``out``,
    which must be empty or new (mixing two sets would silently change both). Returns the
    state files written, in order."""
    d = Path(out)
    if d.exists() and not d.is_dir():
        raise MazeFileError(f"--out {d} is a file; give a directory")
    if d.is_dir() and any(d.iterdir()):
        raise MazeFileError(f"--out {d} is not empty; give a new or empty directory")
    d.mkdir(parents=True, exist_ok=True)
    width = max(4, len(str(len(maze_set) - 1)))
    entries, files = [], []
    for i, maze in enumerate(maze_set.mazes):
        name = f"{i:0{width}d}.bin"
        data = maze.state_bytes()
        (d / name).write_bytes(data)
        files.append(d / name)
        entries.append(_entry(name, maze, i, maze_set.labels[i], maze_set.source_hashes[i]))
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "source": {"path": maze_set.source, "kind": maze_set.kind},
        "mazes": entries,
    }
    (d / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return files


def _cell(cell: tuple[int, int] | None) -> list[int] | None:
    return None if cell is None else [int(cell[0]), int(cell[1])]


def _entry(name: str, maze: Maze, index: int, label: str, source_hash: str) -> dict[str, Any]:
    return {
        "file": name,
        "sha256": maze.content_hash,
        "source_index": index,
        "source_label": label,
        "source_sha256": source_hash,
        "level_seed": maze.seed,
        "size": maze.size,
        "inner_size": maze.declared_size,
        "lifted": maze.lifted,
        "mouse": _cell(maze.mouse),
        "cheese": _cell(maze.cheese),
        "decision_square": _cell(maze.decision_square),
    }
