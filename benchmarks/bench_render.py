"""Throughput of the maze layer: batched rendering of edited mazes, and the state codec.

    python benchmarks/bench_render.py [--repeats N]

The last line is ``render_obs_per_s=<number>``: observations per second for batches of 256
edited mazes (mouse moved), rendered to float tensors (the number other tools read).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_time

from harness.maze.codec import parse, serialize
from harness.maze.maze import Maze, state_bytes_many
from harness.maze.procgen_env import default_pool, level_state
from harness.maze.render import observations


def edited_batch(size: int) -> list[Maze]:
    """``size`` mazes with the mouse moved, cycling over a few large levels."""
    levels = [m for m in (Maze.from_seed(s) for s in range(40)) if m.size >= 15][:4]
    out: list[Maze] = []
    while len(out) < size:
        for maze in levels:
            out += maze.with_mice(maze.mouse_cells[: size - len(out)])
    return out[:size]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()

    raw = level_state(0)
    state = parse(raw)
    n = 200
    t_parse = median_time(lambda: [parse(raw) for _ in range(n)], 3) / n
    t_ser = median_time(lambda: [serialize(state) for _ in range(n)], 3) / n
    maze = Maze.from_seed(0)
    cells = maze.mouse_cells
    t_patch = median_time(lambda: state_bytes_many(maze.with_mice(cells)), 5) / len(cells)
    print(
        f"codec: parse {t_parse * 1e6:.0f} us, serialize {t_ser * 1e6:.0f} us per state "
        f"({len(raw)} bytes); template patch {t_patch * 1e6:.1f} us per edited state"
    )

    default_pool().observe(state_bytes_many(edited_batch(256)))  # create the pool's envs
    rate = 0.0
    for size in (1, 64, 256):
        batch = edited_batch(size)
        t = median_time(lambda b=batch: observations(b), args.repeats)
        rate = size / t
        print(f"render batch {size:4d}: {rate:8.0f} obs/s  ({t * 1e3:.1f} ms per batch)")
    print(f"render_obs_per_s={rate:.0f}")


if __name__ == "__main__":
    main()
