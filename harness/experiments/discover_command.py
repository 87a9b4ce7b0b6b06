"""``python -m harness discover-channels``: rank channels by cheese tracking, draft a profile."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import cli_types as T
from harness.errors import UsageError
from harness.maze.seed_ranges import DISCOVERY_BASE_SEED


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint",
        type=T.checkpoint,
        default="default",
        help="default | planted[:name] | a .pth",
    )
    p.add_argument("--layer", default="embedder.block2.res1.resadd_out")
    p.add_argument("--device", type=T.device, default="auto", help="auto | cpu | cuda[:k]")
    p.add_argument(
        "--mazes", type=T.positive_int, default=40, help="mazes to sample (default: %(default)s)"
    )
    p.add_argument("--placements", type=T.positive_int, default=6, help="cheese cells per maze")
    p.add_argument(
        "--base-seed",
        type=T.seed,
        default=DISCOVERY_BASE_SEED,
        help="first level seed of the discovery mazes (default: %(default)s, a range no "
        "claim's default stream reaches; claims refuse to confirm channels on these mazes)",
    )
    p.add_argument(
        "--min-rate",
        type=T.probability,
        default=0.3,
        help="hit rate in (0, 1] for a channel to count as a cheese channel (default: 0.3)",
    )
    p.add_argument("--name", default=None, help="profile name (default: from the checkpoint)")
    p.add_argument("--out", type=T.output_file, default=None, help="write the draft profile here")


def run(a: argparse.Namespace) -> int:
    # Each maze needs a seed of its own; past procgen's last seed the sample would come up short.
    if a.base_seed + a.mazes - 1 > T.MAX_SEED:
        raise UsageError(
            f"--base-seed {a.base_seed} leaves fewer than --mazes {a.mazes} seeds before "
            f"procgen's last seed {T.MAX_SEED}"
        )
    import torch

    from harness.experiments.discover import profile_draft, rank_channels
    from harness.experiments.subject import Subject
    from harness.hooks import resolve_label
    from harness.policy import open_policy

    loaded = open_policy(a.checkpoint, device=a.device)
    layer = resolve_label(loaded.policy, a.layer)  # unknown labels get suggestions
    subject = Subject(loaded.policy, torch.device(loaded.info.device), layer=layer)
    ranking = rank_channels(subject, a.mazes, a.placements, base_seed=a.base_seed)
    print(
        f"channel hit rates at {layer} on {ranking.mazes} mazes, seeds {ranking.seed_range} "
        f"(chance {ranking.chance:.3f}):"
    )
    for c, r in ranking.ranked()[:20]:
        print(f"  channel {c:4d}  {r:.3f}")
    name = a.name or Path(str(loaded.info.source)).stem.replace(":", "-")
    draft = profile_draft(name, loaded.info.sha256, ranking, a.min_rate)
    if a.out:
        a.out.write_text(draft)
        print(f"profile draft written to {a.out}; check it, then pass --profile {a.out}")
    else:
        print(draft)
    print(f"cheese_channels={ranking.cheese_channels(a.min_rate)}")
    return 0
