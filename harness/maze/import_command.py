"""``python -m harness import-mazes FILE --out DIR``: saved mazes into a maze directory.

Reads what the reference tooling saves (a pickled list of state bytes, or one state) without
running the pickle, and writes this project's plain format (``NNNN.bin`` + ``mazes.json``),
which ``pytest claims/ --mazes DIR`` reads. A pickle that needs code exits 2, unrun.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help="a pickled list of procgen state bytes (procgen-tools' saved mazes), one raw "
        "state, or a maze directory",
    )
    p.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="new or empty directory to write"
    )


def run(args: argparse.Namespace) -> int:
    from harness.maze.mazefiles import load_mazes, write_maze_dir

    maze_set = load_mazes(args.file)
    files = write_maze_dir(maze_set, args.out)
    with_ds = sum(m.has_decision_square for m in maze_set.mazes)
    sizes = sorted({m.declared_size for m in maze_set.mazes})
    print(
        f"import-mazes: {len(files)} maze{'s' * (len(files) != 1)} from {args.file} "
        f"({maze_set.kind}) written to {args.out}: one .bin state each and mazes.json"
    )
    print(
        f"  inner sizes {', '.join(map(str, sizes))}; {with_ds} with a decision square; "
        f"{maze_set.lifted} lifted to the world (open outside their inner grid); "
        f"{maze_set.normalized} normalized"
    )
    print(f"  set sha256 {maze_set.sha256}")
    return 0
