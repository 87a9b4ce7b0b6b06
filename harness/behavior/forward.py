"""How behaviour metrics call a policy: batched, padded, and told which maze each row is.

A metric renders observations for many mazes at once and runs them through the policy in
batches. Some interventions differ per maze (each maze's own cheese vector), so the policy
is wrapped in a *runner*: ``runner(obs, owners) -> logits`` where ``owners[i]`` is the
index of the maze that row ``i`` belongs to. :func:`plain_runner` ignores the owners.

Rows per forward pass depend on the device (:func:`batch_rows`): a CPU's caches favour small
batches, a GPU needs large ones to fill. Every pass has exactly that many rows -- the last
is padded with copies of its final row -- because a convolution backend may pick another
algorithm for another batch size, and a maze's numbers must not depend on how many other
mazes happened to share its run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from harness.maze.render import to_tensor
from harness.policy.probs import probs5

Runner = Callable[[torch.Tensor, np.ndarray], torch.Tensor]

#: Rows per forward pass by device type. CPU: the fastest of 16..256 for the scale-1 policy
#: on a 2-core AVX-512 EPYC at one and two threads (64; 256 was the slowest; measured by
#: ``benchmarks/bench_vfield.py``). CUDA: large enough to fill a GPU while a batch of
#: scale-4 activations stays far below its memory.
DEVICE_BATCH_ROWS = {"cpu": 64, "cuda": 1024}
#: CPU rows for wider networks (channel scale 2 and up): the scale-4 original's activations
#: outgrow the caches sooner, and 16 rows ran 1.3x faster than 64 on the same machine.
CPU_WIDE_BATCH_ROWS = 16
#: Rows for device types not listed above.
FALLBACK_BATCH_ROWS = 256
_override: int | None = None
_scale = 1


def check_batch_rows(rows: int) -> int:
    """``rows`` if it is a usable batch size (a positive int), else a ``ValueError``."""
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError(f"the batch size must be a positive integer, got {rows!r}")
    return rows


def set_batch_rows(rows: int | None) -> None:
    """Fix the rows per forward pass for every device (None: back to the device default)."""
    global _override
    _override = None if rows is None else check_batch_rows(rows)


def set_channel_scale(scale: int) -> None:
    """Tell the defaults how wide the network under test is (the claims plugin does, once
    the checkpoint is loaded)."""
    global _scale
    _scale = max(1, int(scale))


def batch_rows(device: torch.device | str) -> int:
    """Rows per forward pass on ``device``: what :func:`set_batch_rows` fixed (``--batch-size``),
    else the device type's measured default. Never measured at run time: a report must not
    depend on how loaded the machine was."""
    if _override is not None:
        return _override
    kind = torch.device(device).type
    if kind == "cpu" and _scale > 1:
        return CPU_WIDE_BATCH_ROWS
    return DEVICE_BATCH_ROWS.get(kind, FALLBACK_BATCH_ROWS)


def plain_runner(policy: torch.nn.Module) -> Runner:
    """Run ``policy`` as is (inference mode); returns the 15 action logits."""

    def run(obs: torch.Tensor, _owners: np.ndarray) -> torch.Tensor:
        with torch.inference_mode():
            out = policy(obs)
        return out[0] if isinstance(out, tuple) else out

    return run


def probs5_from_logits(logits: torch.Tensor) -> np.ndarray:
    """5-way move probabilities as a float64 numpy array (see :func:`probs5`)."""
    return probs5(logits).cpu().numpy().astype(np.float64)


def padded(rows: np.ndarray, size: int) -> np.ndarray:
    """``rows`` extended to ``size`` with copies of its last row (no copy when full)."""
    missing = size - len(rows)
    if missing <= 0:
        return rows
    return np.concatenate([rows, np.repeat(rows[-1:], missing, axis=0)])


def forward_probs(
    runner: Runner,
    frames: np.ndarray,
    owners: np.ndarray,
    device: torch.device | str,
    out: np.ndarray,
) -> None:
    """Write the 5-way move distributions of ``frames`` ((n, 64, 64, 3) uint8) into ``out``
    ((n, 5)), in full batches of :func:`batch_rows` rows."""
    size = batch_rows(device)
    for i in range(0, len(frames), size):
        n = min(size, len(frames) - i)
        obs = to_tensor(padded(frames[i : i + size], size), device)
        logits = runner(obs, padded(owners[i : i + size], size))
        out[i : i + n] = probs5_from_logits(logits[:n])
