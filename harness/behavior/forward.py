"""How behaviour metrics call a policy: batched, chunked, and told which maze each row is.

A metric renders observations for many mazes at once and runs them through the policy in
chunks. Some interventions differ per maze (each maze's own cheese vector), so the policy
is wrapped in a *runner*: ``runner(obs, owners) -> logits`` where ``owners[i]`` is the
index of the maze that row ``i`` belongs to. :func:`plain_runner` ignores the owners.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from harness.policy.probs import probs5

Runner = Callable[[torch.Tensor, np.ndarray], torch.Tensor]

#: Rows per forward pass: big enough to amortize overhead, small enough for any device.
CHUNK = 256


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
