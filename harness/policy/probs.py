"""Five-way move probabilities from the 15 procgen logits.

The 15 -> 5 grouping lives in :mod:`harness.actions`; this module only turns it into a torch
operation: softmax over the 15 logits, then sum each group (LEFT, DOWN, UP, RIGHT, NOOP).
"""

from __future__ import annotations

import math

import torch

from harness.actions import ACTION_TO_MOVE, MOVE_ACTIONS, NUM_ACTIONS, Move

_GROUP_INDEX = torch.as_tensor(ACTION_TO_MOVE, dtype=torch.long)
# log(group size) from Python's scalar libm, not torch's vectorized log: torch picks its SIMD
# kernel by CPU (AVX2, AVX-512), which can change the last bit and with it the planted
# policies' weight hashes, which their profiles list.
_LOG_GROUP_SIZES = tuple(math.log(len(MOVE_ACTIONS[m])) for m in Move)


def probs5(logits: torch.Tensor) -> torch.Tensor:
    """(..., 15) logits -> (..., 5) probabilities indexed by :class:`~harness.actions.Move`."""
    if logits.shape[-1] != NUM_ACTIONS:
        raise ValueError(f"expected {NUM_ACTIONS} logits in the last dimension, got {logits.shape}")
    p = torch.softmax(logits.float(), dim=-1)
    return torch.stack([_group_sum(p, MOVE_ACTIONS[m]) for m in Move], -1)


def _group_sum(p: torch.Tensor, actions: tuple[int, ...]) -> torch.Tensor:
    """The group's probabilities added one by one in action order: the order ``index_add_``
    uses on the CPU (so the CPU's numbers are unchanged), fixed on every device (CUDA's
    ``index_add_`` adds atomically, in no fixed order, and its last bits vary run to run)."""
    total = p[..., actions[0]]
    for a in actions[1:]:
        total = total + p[..., a]
    return total


def log_probs5(logits: torch.Tensor) -> torch.Tensor:
    """Log of :func:`probs5`, computed stably (logsumexp per group), for training losses."""
    if logits.shape[-1] != NUM_ACTIONS:
        raise ValueError(f"expected {NUM_ACTIONS} logits in the last dimension, got {logits.shape}")
    logp = torch.log_softmax(logits, dim=-1)
    return torch.stack(
        [torch.logsumexp(logp[..., list(MOVE_ACTIONS[m])], dim=-1) for m in Move], -1
    )


def logits_for_moves(move_logits: torch.Tensor) -> torch.Tensor:
    """(..., 5) move logits -> (..., 15) procgen logits whose :func:`probs5` is their softmax.

    Each action of a group gets the group's logit minus log(group size), so the group's
    summed probability equals ``softmax(move_logits)`` exactly. Used to build planted heads.
    """
    if move_logits.shape[-1] != len(Move):
        raise ValueError(f"expected {len(Move)} move logits, got {tuple(move_logits.shape)}")
    log_sizes = torch.tensor(_LOG_GROUP_SIZES, dtype=torch.float64, device=move_logits.device)
    logits = (move_logits.double() - log_sizes).to(move_logits.dtype)
    return logits.index_select(-1, _GROUP_INDEX.to(move_logits.device))
