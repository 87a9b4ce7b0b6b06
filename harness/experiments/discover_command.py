"""``python -m harness discover-channels``: rank channels by cheese tracking, draft a profile."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.maze.seed_ranges import DISCOVERY_BASE_SEED


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", default="default", help="default | planted[:name] | a .pth")
    p.add_argument("--layer", default="embedder.block2.res1.resadd_out")
    p.add_argument("--device", default="auto")
    p.add_argument("--mazes", type=int, default=40, help="mazes to sample (default: %(default)s)")
    p.add_argument("--placements", type=int, default=6, help="cheese cells per maze")
    p.add_argument(
        "--base-seed",
        type=int,
        default=DISCOVERY_BASE_SEED,
        help="first level seed of the discovery mazes (default: %(default)s, a range no "
        "claim's default stream reaches; claims refuse to confirm channels on these mazes)",
    )
    p.add_argument(
        "--min-rate",
        type=float,
        default=0.3,
        help="hit rate for a channel to count as a cheese channel (default: 0.3)",
    )
    p.add_argument("--name", default=None, help="profile name (default: from the checkpoint)")
    p.add_argument("--out", type=Path, default=None, help="write the draft profile here")


def run(a: argparse.Namespace) -> int:
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
