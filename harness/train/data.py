"""Behaviour-cloning data for the bundled policy: Langosco et al.'s ``rand_region_5`` mazes.

A training maze is a procgen hard-mode level with its cheese moved to a uniformly random
free cell of the top-right 5 x 5 of the inner grid (anywhere but the start for smaller
mazes). Every cell the mouse can stand on becomes one sample: the rendered observation,
the first move of the shortest path to the cheese, the step distance (for the value
target), and the mouse's and cheese's channel cells (auxiliary perception targets).

The stream is organised in *chunks* of consecutive maze seeds, each shuffled with its own
seeded generator, so that any position in the stream -- (chunk, batch) -- can be
regenerated exactly: a resumed run sees the same data as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from harness.actions import MOVE_DELTA
from harness.maze.grid import distances_from, next_moves_towards
from harness.maze.maze import TOP_RIGHT_REGION, Maze
from harness.maze.render import observe_uint8
from harness.policy.geometry import MAP_SIZE, channel_cell

#: Training levels start here; held-out evaluation levels start at EVAL_SEED_BASE; the
#: claims' default seed streams start at 0. The ranges do not overlap in practice.
TRAIN_SEED_BASE = 1_000_000_000
EVAL_SEED_BASE = 1_500_000_000

_DELTA_TO_MOVE = {d: int(m) for m, d in MOVE_DELTA.items()}


def flat_channel_cells(outer: np.ndarray, side: int = MAP_SIZE) -> np.ndarray:
    """(N, 2) outer cells -> flat indices of their cells in the 16 x 16 block-2 maps."""
    return np.array([r * side + c for r, c in (channel_cell(tuple(o)) for o in outer)], np.int64)


def training_maze(seed: int, data_seed: int) -> Maze:
    """Level ``seed`` with the cheese moved into the top-right region (rand_region_5)."""
    maze = Maze.from_seed(seed)
    n = maze.size
    lo = max(0, n - TOP_RIGHT_REGION)
    region = [c for c in maze.free_cells if c[0] >= lo and c[1] >= lo and c != maze.start]
    rng = np.random.default_rng([data_seed, seed])
    return maze.with_cheese(region[rng.integers(len(region))])


@dataclass(frozen=True)
class Samples:
    """A batch of behaviour-cloning samples (numpy, so it crosses process boundaries)."""

    obs: np.ndarray  # (N, 64, 64, 3) uint8
    move: np.ndarray  # (N,) int64 Move index of the first step toward the cheese
    steps: np.ndarray  # (N,) int64 path length from the mouse to the cheese
    mouse_cell: np.ndarray  # (N,) flat index in the 16 x 16 block-2 map
    cheese_cell: np.ndarray  # (N,) likewise
    size: np.ndarray  # (N,) inner grid size of the maze

    def __len__(self) -> int:
        return len(self.move)

    def take(self, idx: np.ndarray) -> Samples:
        return Samples(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))

    @staticmethod
    def concat(parts: list[Samples]) -> Samples:
        return Samples(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in Samples.__dataclass_fields__)
        )

    def tensors(self) -> dict[str, torch.Tensor]:
        return {
            f: torch.from_numpy(np.ascontiguousarray(getattr(self, f)))
            for f in self.__dataclass_fields__
        }


def maze_samples(maze: Maze, render: bool = True, facing_seed: int | None = None) -> Samples:
    """One sample per mouse cell of ``maze`` (labels from one BFS from the cheese).

    In an episode the mouse sprite is mirrored after every move to the right, so each sample
    gets a random facing (from ``facing_seed``; None keeps the level's initial facing).
    """
    assert maze.cheese is not None
    cells = np.array(maze.mouse_cells, dtype=np.int64)
    nxt = next_moves_towards(maze.walls, maze.cheese)[cells[:, 0], cells[:, 1]]
    if np.any(nxt[:, 0] < 0):
        raise ValueError(f"maze {maze.seed}: some cells cannot reach the cheese")
    deltas = nxt - cells
    move = np.array([_DELTA_TO_MOVE[(int(a), int(b))] for a, b in deltas], dtype=np.int64)
    steps = distances_from(maze.walls, maze.cheese)[cells[:, 0], cells[:, 1]]
    m = maze.margin
    if facing_seed is None:
        facing = np.zeros(len(cells), bool)
    else:
        facing = np.random.default_rng([facing_seed, maze.seed or 0]).random(len(cells)) < 0.5
    obs = (
        observe_uint8(
            [maze.with_mouse(tuple(c), bool(f)) for c, f in zip(cells, facing, strict=True)]
        )
        if render
        else np.zeros((len(cells), 64, 64, 3), np.uint8)
    )
    return Samples(
        obs=obs,
        move=move,
        steps=steps.astype(np.int64),
        mouse_cell=flat_channel_cells(cells + m),
        cheese_cell=np.full(len(cells), flat_channel_cells(np.array([maze.cheese]) + m)[0]),
        size=np.full(len(cells), maze.size, np.int64),
    )


@dataclass(frozen=True)
class StreamConfig:
    data_seed: int = 0
    seed_base: int = TRAIN_SEED_BASE
    mazes_per_chunk: int = 64
    batch_size: int = 128
    max_size: int = 25
    min_size: int = 3
    #: At most this many cells per maze (random subset); None keeps every cell.
    cells_per_maze: int | None = None


def chunk_samples(cfg: StreamConfig, chunk: int) -> Samples:
    """All samples of chunk ``chunk``, shuffled with the chunk's own generator."""
    rng = np.random.default_rng([cfg.data_seed, chunk, 7])
    parts = []
    first = cfg.seed_base + chunk * cfg.mazes_per_chunk
    for seed in range(first, first + cfg.mazes_per_chunk):
        maze = Maze.from_seed(seed)
        if not cfg.min_size <= maze.size <= cfg.max_size:
            continue
        s = maze_samples(training_maze(seed, cfg.data_seed), facing_seed=cfg.data_seed)
        if cfg.cells_per_maze is not None and len(s) > cfg.cells_per_maze:
            s = s.take(np.sort(rng.choice(len(s), cfg.cells_per_maze, replace=False)))
        parts.append(s)
    data = Samples.concat(parts)
    return data.take(rng.permutation(len(data)))


def batches(
    cfg: StreamConfig, start_chunk: int = 0, skip_batches: int = 0
) -> Iterator[tuple[int, int, Samples]]:
    """Yield (chunk, batch index within chunk, batch) forever from a stream position."""
    chunk = start_chunk
    while True:
        data = chunk_samples(cfg, chunk)
        n_batches = len(data) // cfg.batch_size
        for b in range(skip_batches if chunk == start_chunk else 0, n_batches):
            idx = np.arange(b * cfg.batch_size, (b + 1) * cfg.batch_size)
            yield chunk, b, data.take(idx)
        chunk += 1


class BatchStream(torch.utils.data.IterableDataset):
    """The chunked stream as a dataset, so a DataLoader worker renders ahead of training."""

    def __init__(self, cfg: StreamConfig, start_chunk: int = 0, skip_batches: int = 0) -> None:
        self.cfg, self.start_chunk, self.skip_batches = cfg, start_chunk, skip_batches

    def __iter__(self):
        torch.set_num_threads(1)
        for chunk, b, s in batches(self.cfg, self.start_chunk, self.skip_batches):
            yield chunk, b, s.tensors()
