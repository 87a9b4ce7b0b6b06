"""``python -m harness train``: train (or resume) the bundled behaviour-cloned policy."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from harness import cli_types as T
from harness.errors import UsageError

if TYPE_CHECKING:
    from harness.train.data import StreamConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    from harness.train.bc import TrainConfig
    from harness.train.data import StreamConfig

    p.add_argument(
        "--run-dir", type=T.output_dir, required=True, help="where state, log and policy.pth go"
    )
    p.add_argument("--total-samples", type=T.positive_int, default=TrainConfig.total_samples)
    p.add_argument("--lr", type=T.positive_float, default=TrainConfig.lr)
    p.add_argument("--warmup-samples", type=T.nonnegative_int, default=TrainConfig.warmup_samples)
    p.add_argument(
        "--aux-weight",
        type=T.nonnegative_float,
        default=TrainConfig.aux_weight,
        help="weight of the mouse/cheese locator heads (0 turns them off)",
    )
    p.add_argument("--value-weight", type=T.nonnegative_float, default=TrainConfig.value_weight)
    p.add_argument("--threads", type=T.positive_int, default=TrainConfig.threads)
    p.add_argument("--init-seed", type=T.seed, default=TrainConfig.init_seed)
    p.add_argument("--data-seed", type=T.seed, default=StreamConfig.data_seed)
    p.add_argument("--batch-size", type=T.positive_int, default=StreamConfig.batch_size)
    p.add_argument("--max-size", type=T.maze_size, default=StreamConfig.max_size)
    p.add_argument("--cells-per-maze", type=T.positive_int, default=None)
    p.add_argument(
        "--eval-every-samples", type=T.positive_int, default=TrainConfig.eval_every_samples
    )
    p.add_argument(
        "--stop-at-samples",
        type=T.positive_int,
        default=None,
        help="pause (and save) here; the learning-rate schedule still spans --total-samples",
    )
    p.add_argument(
        "--keep-every",
        type=T.positive_int,
        default=None,
        metavar="SAMPLES",
        help="also keep the policy every SAMPLES samples (and at 0) as "
        "snapshots/policy-<samples>.pth with a .json sidecar of its progress, for a sweep",
    )
    p.add_argument(
        "--max-seconds", type=T.positive_float, default=None, help="stop (and save) after this"
    )


def mean_chunk_samples(stream: StreamConfig) -> float:
    """Samples one chunk of the stream holds on average.

    procgen draws the 12 odd sizes 3..25 uniformly, and a size-n level is a perfect maze with
    (n + 1)**2 / 2 - 1 free cells, all but the cheese's a sample.
    """
    sizes = range(T.MIN_MAZE_SIZE, T.MAX_MAZE_SIZE + 1, 2)
    cap = stream.cells_per_maze or math.inf
    cells = sum(
        min(cap, (n + 1) ** 2 // 2 - 2) for n in sizes if stream.min_size <= n <= stream.max_size
    )
    return stream.mazes_per_chunk * cells / len(sizes)


def check_stream(stream: StreamConfig) -> None:
    """A chunk that cannot fill one batch yields none: the stream would render chunks forever."""
    mean = mean_chunk_samples(stream)
    if mean < stream.batch_size:
        raise UsageError(
            f"--batch-size {stream.batch_size} is more than a chunk of {stream.mazes_per_chunk} "
            f"mazes of size <= {stream.max_size} holds on average (~{mean:.0f} samples), so "
            "batches would never fill; lower --batch-size or raise --max-size or --cells-per-maze"
        )


def run(a: argparse.Namespace) -> int:
    import torch

    from harness.train.bc import TrainConfig, train
    from harness.train.data import StreamConfig

    state = Path(a.run_dir) / "train_state.pt"
    if state.exists():
        # Resuming: the run's own config wins, except for the threads of this sitting.
        cfg = TrainConfig.from_dict(torch.load(state, weights_only=True)["config"])
        cfg.threads = a.threads
        cfg.keep_every = a.keep_every if a.keep_every is not None else cfg.keep_every
        print(f"resuming {a.run_dir}")
    else:
        cfg = TrainConfig(
            run_dir=a.run_dir,
            total_samples=a.total_samples,
            lr=a.lr,
            warmup_samples=a.warmup_samples,
            aux_weight=a.aux_weight,
            value_weight=a.value_weight,
            threads=a.threads,
            eval_every_samples=a.eval_every_samples,
            keep_every=a.keep_every,
            init_seed=a.init_seed,
            stream=StreamConfig(
                data_seed=a.data_seed,
                batch_size=a.batch_size,
                max_size=a.max_size,
                cells_per_maze=a.cells_per_maze,
            ),
        )
        check_stream(cfg.stream)
    print(json.dumps(asdict(cfg)))
    train(cfg, max_seconds=a.max_seconds, stop_at_samples=a.stop_at_samples)
    return 0
