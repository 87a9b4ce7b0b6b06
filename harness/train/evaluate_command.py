"""``python -m harness evaluate``: a policy on held-out training- and test-distribution mazes.

Ends with the lines ``train_action_accuracy=``, ``train_p_reach_cheese=`` and
``test_mean_p_cheese_at_ds=`` (other tools read them).
"""

from __future__ import annotations

import argparse
import json

from harness import cli_types as T
from harness.errors import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint",
        type=T.checkpoint,
        default="default",
        help="default | planted[:name] | path to a .pth (default: %(default)s)",
    )
    p.add_argument(
        "--seeds",
        type=T.positive_int,
        default=200,
        help="held-out mazes per distribution (default: %(default)s)",
    )
    p.add_argument(
        "--device", type=T.device, default="auto", help="auto | cpu | cuda[:k] (default: auto)"
    )
    p.add_argument(
        "--min-size",
        type=T.maze_size,
        default=None,
        help="smallest maze size (default: the profile's declared range, else 3)",
    )
    p.add_argument(
        "--max-size",
        type=T.maze_size,
        default=None,
        help="largest maze size (default: the profile's declared range, else 25)",
    )
    p.add_argument("--json", type=T.output_file, default=None, help="also write the numbers here")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(a: argparse.Namespace) -> int:
    # An empty size range matches no maze: the held-out streams would search forever.
    if a.min_size and a.max_size and a.min_size > a.max_size:
        raise UsageError(f"--min-size {a.min_size} is larger than --max-size {a.max_size}")
    import torch

    from harness.behavior.forward import plain_runner
    from harness.policy import open_policy
    from harness.profiles import ProfileError, resolve_profile
    from harness.train.evaluate import evaluate, format_evaluation

    loaded = open_policy(a.checkpoint, device=a.device)
    try:
        model = resolve_profile(None, loaded.info.sha256).model
    except ProfileError:
        model = None
    lo = a.min_size or (model.min_size if model and model.min_size else 3)
    hi = a.max_size or (model.max_size if model and model.max_size else 25)
    if lo > hi:
        raise UsageError(
            f"maze sizes {lo}..{hi} are empty: the profile declares sizes "
            f"{model.min_size}..{model.max_size}; pass both --min-size and --max-size"
        )
    print(
        f"policy {loaded.info.source} (sha256 {loaded.info.sha256[:12]}...), "
        f"device {loaded.info.device}, sizes {lo}..{hi}"
    )
    with torch.no_grad():  # scoped: an in-process caller keeps its own autograd mode
        ev = evaluate(
            plain_runner(loaded.policy),
            loaded.info.device,
            a.seeds,
            lo,
            hi,
            progress=not a.no_progress,
        )
    if a.json:
        a.json.write_text(json.dumps(ev.as_dict(), indent=2))
    print(format_evaluation(ev))
    return 0
