"""Load, validate, save and identify IMPALA checkpoints (Langosco et al.'s format).

A file is read safely by :mod:`harness.policy.checkpoint_file` and its weights are found in
one of the layouts of :mod:`harness.policy.layout`; here they are validated, every way they
can be wrong raising a typed :class:`~harness.policy.errors.CheckpointError` that names the
key, the expected and the actual value, and built into a policy. The channel scale is
inferred from the weights (``embedder.block1.conv.weight.shape[0] // 16``) and checked for
consistency.

Weights in float16, bfloat16 or float64 are cast to float32, the dtype the policy computes
in: every float16/bfloat16 value is exact in float32, and float64 rounds to what a float32
policy would compute anyway (a value too large for float32 is refused as non-finite).
Integer, bool and complex tensors are refused: no IMPALA weight has such a dtype.

A checkpoint is identified in reports by the sha256 of its file (or, for in-memory
weights, of a canonical serialization of the unwrapped state dict).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from harness.actions import NUM_ACTIONS
from harness.policy.checkpoint_file import existing_file, read_raw
from harness.policy.errors import (
    RESAVE,
    ActionCountError,
    ChannelScaleError,
    NonFiniteWeightsError,
    NonTensorValueError,
    ShapeMismatchError,
    StateDictKeysError,
    WeightDtypeError,
    short_list,
)
from harness.policy.impala import BASE_CHANNELS, ImpalaPolicy
from harness.policy.layout import FLOAT_DTYPES, PARALLEL_PREFIX, CheckpointLayout, unwrap_state_dict
from harness.policy.numerics import STRICT, Numerics, prepare_device

StateDict = Mapping[str, torch.Tensor]

_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class PolicyInfo:
    """Where a policy came from: what reports print next to every number."""

    sha256: str
    scale: int
    source: str
    kind: str  # "file", "state_dict" or "planted"
    num_actions: int = NUM_ACTIONS
    device: str = "cpu"
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: How a file or state dict was unwrapped; None for planted policies.
    layout: CheckpointLayout | None = None
    #: The device's precision and determinism settings (:mod:`harness.policy.numerics`).
    numerics: Numerics | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "scale": self.scale,
            "source": self.source,
            "kind": self.kind,
            "num_actions": self.num_actions,
            "device": self.device,
            "layout": self.layout.to_dict() if self.layout else None,
            "numerics": self.numerics.to_dict() if self.numerics else None,
            **{k: v.to_dict() if hasattr(v, "to_dict") else v for k, v in self.extra.items()},
        }


@dataclass(frozen=True)
class LoadedPolicy:
    """A policy in eval mode (float32, on its device) and its :class:`PolicyInfo`.

    Unpacks as ``policy, info = load_policy(...)``.
    """

    policy: ImpalaPolicy
    info: PolicyInfo

    def __iter__(self):
        return iter((self.policy, self.info))


# --------------------------------------------------------------------------- hashing
def checkpoint_sha256(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file's bytes: the stable identity of a checkpoint."""
    path = existing_file(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def state_dict_sha256(state_dict: StateDict) -> str:
    """sha256 of a canonical serialization (sorted keys, dtype, shape, float32 bytes).

    -0.0 counts as 0.0: the two are the same weight, and which one a computation yields can
    depend on the thread count (summation order), which must not change an identity.
    """
    digest = hashlib.sha256()
    for key in sorted(state_dict):
        t = state_dict[key].detach().to("cpu", torch.float32).contiguous() + 0.0
        digest.update(f"{key}|{list(t.shape)}|float32\n".encode())
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------- reading
def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], CheckpointLayout]:
    """The float32 model weights of a checkpoint file and how they were found in it."""
    p = existing_file(path)
    raw, layout = read_raw(p)
    return _float32_weights(raw, _where(str(p), layout)), layout


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The model weights of a checkpoint file (see :func:`read_checkpoint`)."""
    return read_checkpoint(path)[0]


def extract_state_dict(obj: object, source: str) -> dict[str, torch.Tensor]:
    """Pick the float32 model weights out of a loaded checkpoint object."""
    state, layout = unwrap_state_dict(obj, source)
    return _float32_weights(state, _where(source, layout))


def _where(source: str, layout: CheckpointLayout) -> str:
    return f"{source}[{layout.wrapper!r}]" if layout.wrapper else source


# --------------------------------------------------------------------------- validation
def _float32_weights(state: Mapping[str, Any], source: str) -> dict[str, torch.Tensor]:
    """Every value a dense float tensor with finite values, cast to float32; else raise."""
    odd = [
        k
        for k, v in state.items()
        if not isinstance(v, torch.Tensor) or v.layout != torch.strided or v.is_meta
    ]
    if odd:
        v = state[odd[0]]
        what = (
            f"a {type(v).__name__}, not a tensor"
            if not isinstance(v, torch.Tensor)
            else "a meta tensor (shape only, no values)"
            if v.is_meta
            else f"a {v.layout} tensor, not a dense one"
        )
        raise NonTensorValueError(
            f"{source}: {odd[0]!r} is {what}{_also(odd)}; a state dict maps each parameter "
            f"name to a dense tensor; {RESAVE}",
            odd,
        )
    wrong = [k for k, v in state.items() if v.dtype not in FLOAT_DTYPES]
    if wrong:
        raise WeightDtypeError(
            f"{source}: {wrong[0]!r} has non-float dtype {state[wrong[0]].dtype}{_also(wrong)}; "
            "IMPALA weights are float32 (float16, bfloat16 and float64 are converted)",
            wrong,
        )
    out = {k: v.to(torch.float32) for k, v in state.items()}
    _check_finite(out, state, source)
    return out


def _check_finite(weights: StateDict, original: Mapping[str, Any], source: str) -> None:
    bad = [k for k, v in weights.items() if not bool(torch.isfinite(v).all())]
    if not bad:
        return
    k, v = bad[0], weights[bad[0]]
    nan, inf = int(torch.isnan(v).sum()), int(torch.isinf(v).sum())
    was = original[k]
    overflow = (
        f" (finite in {str(was.dtype).removeprefix('torch.')}, too large for float32)"
        if bool(torch.isfinite(was).all())
        else ""
    )
    raise NonFiniteWeightsError(
        f"{source}: {k!r} has {nan} NaN and {inf} infinite values out of {v.numel()}"
        f"{overflow}{_also(bad)}; a policy with non-finite weights outputs NaN action "
        "probabilities: use a checkpoint saved before training diverged",
        bad,
    )


def _also(keys: list[str]) -> str:
    return f" (also {short_list(keys[1:], 5)})" if len(keys) > 1 else ""


@functools.cache
def _expected_keys() -> tuple[str, ...]:
    """IMPALA state-dict keys; they depend on neither the scale nor the action count."""
    return tuple(ImpalaPolicy(scale=1).state_dict())


def _check_keys(state_dict: Mapping[str, Any], source: str) -> None:
    expected = _expected_keys()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    if not (missing or unexpected):
        return
    prefixed = sum(k.startswith(PARALLEL_PREFIX) for k in state_dict)
    if prefixed == len(state_dict):
        hint = f"every key still starts with {PARALLEL_PREFIX!r}: the prefix is stripped once"
    elif prefixed:
        hint = (
            f"{prefixed} of {len(state_dict)} keys start with {PARALLEL_PREFIX!r}; the prefix "
            "is stripped only when every key has it"
        )
    else:
        hint = "expected the keys of train-procgen-pytorch's IMPALA CategoricalPolicy"
    raise StateDictKeysError(missing, unexpected, source, hint)


def infer_scale(state_dict: StateDict, source: str = "state dict") -> int:
    """Channel scale from ``embedder.block1.conv.weight``, checked against blocks 2 and 3."""
    key = "embedder.block1.conv.weight"
    if key not in state_dict:
        raise StateDictKeysError([key], [], source)
    if state_dict[key].ndim != 4:
        raise ChannelScaleError(
            f"{source}: cannot infer the channel scale: {key} has shape "
            f"{list(state_dict[key].shape)}, expected a conv weight [{BASE_CHANNELS[0]} x "
            "scale, 3, 3, 3]"
        )
    c1 = int(state_dict[key].shape[0])
    if c1 < BASE_CHANNELS[0] or c1 % BASE_CHANNELS[0]:
        raise ChannelScaleError(
            f"{source}: {key} has {c1} output channels; expected a multiple of "
            f"{BASE_CHANNELS[0]} (channel scale = channels // {BASE_CHANNELS[0]} must be a "
            "whole number); is this an IMPALA policy?"
        )
    scale = c1 // BASE_CHANNELS[0]
    for block, base in (("block2", BASE_CHANNELS[1]), ("block3", BASE_CHANNELS[2])):
        k = f"embedder.{block}.conv.weight"
        t = state_dict.get(k)
        if t is not None and t.ndim == 4 and int(t.shape[0]) != base * scale:
            raise ChannelScaleError(
                f"{source}: {key} implies channel scale {scale} ({base * scale} channels in "
                f"{block}), but {k} has {int(t.shape[0])} output channels"
            )
    return scale


def build_policy(
    state_dict: Mapping[str, Any], source: str = "state dict", num_actions: int = NUM_ACTIONS
) -> ImpalaPolicy:
    """A float32 CPU :class:`ImpalaPolicy` holding ``state_dict``, after strict validation.

    Checked in this order: key names, values (dense float tensors, finite), channel scale,
    action count, shapes.
    """
    _check_keys(state_dict, source)
    weights = _float32_weights(state_dict, source)
    scale = infer_scale(weights, source)
    head = weights["fc_policy.weight"]
    if head.ndim == 2 and int(head.shape[0]) != num_actions:
        raise ActionCountError(int(head.shape[0]), num_actions, source)
    policy = ImpalaPolicy(scale=scale, num_actions=num_actions)
    mismatches = [
        (k, tuple(v.shape), tuple(weights[k].shape))
        for k, v in policy.state_dict().items()
        if tuple(weights[k].shape) != tuple(v.shape)
    ]
    if mismatches:
        raise ShapeMismatchError(mismatches, source)
    policy.load_state_dict(weights, strict=True)
    return policy.eval()


def load_policy(
    source: str | os.PathLike | Mapping[str, Any],
    device: str | torch.device = "auto",
    num_actions: int = NUM_ACTIONS,
    numerics: str = STRICT,
) -> LoadedPolicy:
    """Load a checkpoint file or an in-memory state dict as an eval-mode float32 policy.

    ``device``: ``"auto"`` (cuda when available, else cpu), ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
    A path may start with ``~``. The layouts of :mod:`harness.policy.layout` are accepted for both.
    ``numerics``: ``"strict"`` or ``"fast"`` (:mod:`harness.policy.numerics`).
    """
    dev, arithmetic = prepare_device(device, numerics)
    if isinstance(source, Mapping):
        raw, layout = unwrap_state_dict(source, "state dict")
        name, kind = "state dict", "state_dict"
    else:
        path = existing_file(source)
        raw, layout = read_raw(path)
        name, kind = str(path), "file"
    # channels_last matches the renderer's NHWC observations: ~3x faster convolutions on CPU.
    policy = build_policy(raw, _where(name, layout), num_actions)
    digest = checkpoint_sha256(path) if kind == "file" else state_dict_sha256(policy.state_dict())
    info = PolicyInfo(
        sha256=digest,
        scale=policy.scale,
        source=name,
        kind=kind,
        num_actions=num_actions,
        device=str(dev),
        layout=layout,
        numerics=arithmetic,
    )
    return LoadedPolicy(policy.to(dev, memory_format=torch.channels_last), info)


# --------------------------------------------------------------------------- saving
def save_policy(
    policy: ImpalaPolicy | StateDict,
    path: str | os.PathLike,
    optimizer_state: Mapping[str, Any] | None = None,
) -> str:
    """Write Langosco's format atomically; returns the new file's sha256."""
    state = policy.state_dict() if isinstance(policy, torch.nn.Module) else dict(policy)
    payload: dict[str, Any] = {
        "model_state_dict": {k: v.detach().to("cpu").clone() for k, v in state.items()}
    }
    if optimizer_state is not None:
        payload["optimizer_state_dict"] = optimizer_state
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return checkpoint_sha256(path)
