"""``python -m harness train``: train (or resume) the bundled behaviour-cloned policy."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    from harness.train.bc import TrainConfig
    from harness.train.data import StreamConfig

    p.add_argument("--run-dir", required=True, help="where state, log and policy.pth go")
    p.add_argument("--total-samples", type=int, default=TrainConfig.total_samples)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--warmup-samples", type=int, default=TrainConfig.warmup_samples)
    p.add_argument(
        "--aux-weight",
        type=float,
        default=TrainConfig.aux_weight,
        help="weight of the mouse/cheese locator heads (0 turns them off)",
    )
    p.add_argument("--value-weight", type=float, default=TrainConfig.value_weight)
    p.add_argument("--threads", type=int, default=TrainConfig.threads)
    p.add_argument("--init-seed", type=int, default=TrainConfig.init_seed)
    p.add_argument("--data-seed", type=int, default=StreamConfig.data_seed)
    p.add_argument("--batch-size", type=int, default=StreamConfig.batch_size)
    p.add_argument("--max-size", type=int, default=StreamConfig.max_size)
    p.add_argument("--cells-per-maze", type=int, default=None)
    p.add_argument("--eval-every-samples", type=int, default=TrainConfig.eval_every_samples)
    p.add_argument(
        "--stop-at-samples",
        type=int,
        default=None,
        help="pause (and save) here; the learning-rate schedule still spans --total-samples",
    )
    p.add_argument("--max-seconds", type=float, default=None, help="stop (and save) after this")


def run(a: argparse.Namespace) -> int:
    import torch

    from harness.train.bc import TrainConfig, train
    from harness.train.data import StreamConfig

    state = Path(a.run_dir) / "train_state.pt"
    if state.exists():
        # Resuming: the run's own config wins, except for the threads of this sitting.
        cfg = TrainConfig.from_dict(torch.load(state, weights_only=True)["config"])
        cfg.threads = a.threads
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
            init_seed=a.init_seed,
            stream=StreamConfig(
                data_seed=a.data_seed,
                batch_size=a.batch_size,
                max_size=a.max_size,
                cells_per_maze=a.cells_per_maze,
            ),
        )
    print(json.dumps(asdict(cfg)))
    train(cfg, max_seconds=a.max_seconds, stop_at_samples=a.stop_at_samples)
    return 0
