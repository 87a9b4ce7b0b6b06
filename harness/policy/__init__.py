"""Policies: the interpretable IMPALA, checkpoints, devices, action probabilities, planted models.

Typical use::

    from harness.policy import load_policy, probs5, infer
    policy, info = load_policy("model_rand_region_5.pth", device="auto")
    logits, value = infer(policy, obs)
    p = probs5(logits)                                                   # (N, 5): Move order
"""

from harness.policy.checkpoint import (
    LoadedPolicy,
    PolicyInfo,
    checkpoint_sha256,
    load_policy,
    save_policy,
    state_dict_sha256,
)
from harness.policy.device import DeviceError, PolicyOutput, infer, resolve_device
from harness.policy.errors import (
    ActionCountError,
    ChannelScaleError,
    CheckpointError,
    CheckpointFormatError,
    CheckpointNotFoundError,
    ShapeMismatchError,
    StateDictKeysError,
    UnsafeCheckpointError,
)
from harness.policy.impala import ImpalaPolicy
from harness.policy.probs import probs5

__all__ = [
    "ActionCountError",
    "ChannelScaleError",
    "CheckpointError",
    "CheckpointFormatError",
    "CheckpointNotFoundError",
    "DeviceError",
    "ImpalaPolicy",
    "LoadedPolicy",
    "PolicyInfo",
    "PolicyOutput",
    "ShapeMismatchError",
    "StateDictKeysError",
    "UnsafeCheckpointError",
    "checkpoint_sha256",
    "infer",
    "load_policy",
    "probs5",
    "resolve_device",
    "save_policy",
    "state_dict_sha256",
]
