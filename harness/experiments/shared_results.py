"""Results many claims ask for, computed once per process: the unpatched policy's move
distributions and vector fields of the same mazes.

About twenty claims measure the unpatched policy on the first mazes of the same filtered
stream. Those results are pure functions of the checkpoint's bytes and the maze's procgen
state, so they are kept under exactly that key -- (checkpoint sha256, what, maze content
hash) -- never under an object's id: an edited copy of the weights or a maze that renders
differently cannot find another's entry. Memory is bounded (least recently used entries go
first); hits and misses are counted for the suite benchmark. Each pytest-xdist worker has
its own cache, so reports do not depend on how tests are spread over workers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from harness.maze.maze import Maze

#: Bytes of cached arrays per process (a vector field of a 25 x 25 maze is about 12 KB).
DEFAULT_MAX_BYTES = 256 << 20


@dataclass
class Counts:
    hits: int = 0
    misses: int = 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class SharedResults:
    """A bounded per-process store of per-maze result arrays, by checkpoint and content."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
        self._bytes = 0
        self.counts: dict[str, Counts] = {}

    def per_maze(
        self,
        checkpoint: str,
        what: str,
        mazes: Sequence[Maze],
        compute: Callable[[list[Maze]], list[np.ndarray]],
    ) -> list[np.ndarray]:
        """One array per maze: cached ones looked up, the rest computed in one batch by
        ``compute(missing mazes)`` and stored (arrays are read-only to their users)."""
        counts = self.counts.setdefault(what, Counts())
        keys = [(checkpoint, what, m.content_hash) for m in mazes]
        out: list[np.ndarray | None] = []
        for key in keys:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            out.append(found)
        missing = [i for i, found in enumerate(out) if found is None]
        counts.hits += len(mazes) - len(missing)
        counts.misses += len(missing)
        if missing:
            fresh = compute([mazes[i] for i in missing])
            for i, value in zip(missing, fresh, strict=True):
                value = np.array(value, copy=True)
                value.setflags(write=False)
                out[i] = value
                self._store(keys[i], value)
        return out  # type: ignore[return-value]

    def _store(self, key: tuple[str, str, str], value: np.ndarray) -> None:
        if value.nbytes > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old.nbytes
        self._items[key] = value
        self._bytes += value.nbytes
        while self._bytes > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= dropped.nbytes

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0
        self.counts.clear()

    def summary(self) -> dict[str, dict[str, float]]:
        return {
            what: {"hits": c.hits, "misses": c.misses, "hit_rate": round(c.hit_rate, 4)}
            for what, c in sorted(self.counts.items())
        }


_SHARED = SharedResults()


def shared_results() -> SharedResults:
    """This process's store."""
    return _SHARED
