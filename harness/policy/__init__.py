"""Policies: the interpretable IMPALA, checkpoints, devices, action probabilities, planted models.

Typical use::

    from harness.policy import open_policy, probs5, infer
    policy, info = open_policy("model_rand_region_5.pth", device="auto")   # or "planted:saturating"
    logits, value = infer(policy, obs)
    # planted policies: harness.policy.planted.planted("saturating") (the module keeps its name)
    p = probs5(logits)                                                   # (N, 5): Move order
"""

from harness.policy.checkpoint import (
    LoadedPolicy,
    PolicyInfo,
    checkpoint_sha256,
    load_policy,
    read_checkpoint,
    save_policy,
    state_dict_sha256,
)
from harness.policy.device import DeviceError, PolicyOutput, infer, resolve_device
from harness.policy.errors import (
    ActionCountError,
    AmbiguousLayoutError,
    ChannelScaleError,
    CheckpointError,
    CheckpointFormatError,
    CheckpointLayoutError,
    CheckpointNotFoundError,
    CorruptCheckpointError,
    NonFiniteWeightsError,
    NonTensorValueError,
    NotACheckpointError,
    ShapeMismatchError,
    StateDictKeysError,
    TorchScriptArchiveError,
    UnsafeCheckpointError,
    WeightDtypeError,
    WeightValueError,
)
from harness.policy.impala import ImpalaPolicy
from harness.policy.layout import CheckpointLayout
from harness.policy.planted import PlantedSpec, available_planted, planted_spec
from harness.policy.probs import probs5
from harness.policy.sources import load_planted, open_policy

__all__ = [
    "ActionCountError",
    "AmbiguousLayoutError",
    "ChannelScaleError",
    "CheckpointError",
    "CheckpointFormatError",
    "CheckpointLayout",
    "CheckpointLayoutError",
    "CheckpointNotFoundError",
    "CorruptCheckpointError",
    "DeviceError",
    "ImpalaPolicy",
    "LoadedPolicy",
    "NonFiniteWeightsError",
    "NonTensorValueError",
    "NotACheckpointError",
    "PlantedSpec",
    "PolicyInfo",
    "PolicyOutput",
    "ShapeMismatchError",
    "StateDictKeysError",
    "TorchScriptArchiveError",
    "UnsafeCheckpointError",
    "WeightDtypeError",
    "WeightValueError",
    "available_planted",
    "checkpoint_sha256",
    "infer",
    "load_planted",
    "load_policy",
    "open_policy",
    "planted_spec",
    "probs5",
    "read_checkpoint",
    "resolve_device",
    "save_policy",
    "state_dict_sha256",
]
