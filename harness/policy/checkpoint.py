"""Load, validate, save and identify IMPALA checkpoints (Langosco et al.'s format).

A checkpoint file is untrusted input: it is read with ``torch.load(weights_only=True)``
only, and every way it can be wrong raises a typed :class:`~harness.policy.errors.CheckpointError`
that names the key, the expected and the actual value. The channel scale is inferred from
the weights (``embedder.block1.conv.weight.shape[0] // 16``) and checked for consistency.

Format (train-procgen-pytorch): ``{"model_state_dict": {...}, "optimizer_state_dict": {...}}``;
a bare state dict is accepted too. A checkpoint is identified in reports by the sha256 of
its file (or, for in-memory weights, of a canonical serialization of the state dict).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import pickletools
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from harness.actions import NUM_ACTIONS
from harness.policy.device import resolve_device
from harness.policy.errors import (
    ActionCountError,
    ChannelScaleError,
    CheckpointFormatError,
    CheckpointNotFoundError,
    ShapeMismatchError,
    StateDictKeysError,
    UnsafeCheckpointError,
)
from harness.policy.impala import BASE_CHANNELS, ImpalaPolicy

StateDict = Mapping[str, torch.Tensor]

#: Globals a tensor checkpoint may legitimately reference (only used to word errors; the
#: refusal itself is ``torch.load(weights_only=True)``'s).
_SAFE_GLOBAL_PREFIXES = ("torch.", "collections.OrderedDict", "_codecs.encode", "builtins.set")
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "scale": self.scale,
            "source": self.source,
            "kind": self.kind,
            "num_actions": self.num_actions,
            "device": self.device,
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
    path = _existing_file(path)
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
def _existing_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise CheckpointNotFoundError(f"checkpoint {str(p)!r} does not exist")
    if not p.is_file():
        raise CheckpointNotFoundError(f"checkpoint {str(p)!r} is not a regular file")
    return p


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The ``model_state_dict`` of a checkpoint file (or the file's bare state dict)."""
    p = _existing_file(path)
    if p.stat().st_size == 0:
        raise CheckpointFormatError(f"{p}: the file is empty")
    with open(p, "rb") as f:
        head = f.read(4)
    # torch's zip format starts with a zip local-file header, its legacy format (and any
    # raw pickle) with the pickle PROTO opcode
    if head != b"PK\x03\x04" and head[:1] != b"\x80":
        raise CheckpointFormatError(
            f"{p}: not a torch checkpoint (neither a zip archive nor a pickle stream)"
        )
    try:
        with warnings.catch_warnings():  # torch warns about any pickle protocol but 2
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise _classify_unpickling_error(p, e) from e
    except (RuntimeError, EOFError, ValueError, KeyError, OSError) as e:
        raise CheckpointFormatError(
            f"{p}: truncated or corrupted torch file ({type(e).__name__}: {_first_line(e)})"
        ) from e
    return extract_state_dict(obj, str(p))


def extract_state_dict(obj: object, source: str) -> dict[str, torch.Tensor]:
    """Pick the model weights out of a loaded checkpoint object."""
    if isinstance(obj, Mapping) and "model_state_dict" in obj:
        obj = obj["model_state_dict"]
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointFormatError(
            f"{source}: expected a dict with 'model_state_dict' or a state dict of tensors, "
            f"got {type(obj).__name__}"
        )
    out: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            raise CheckpointFormatError(f"{source}: state dict key {key!r} is not a string")
        if not isinstance(value, torch.Tensor):
            raise CheckpointFormatError(
                f"{source}: {key!r} is a {type(value).__name__}, not a tensor"
            )
        if not value.is_floating_point():
            raise CheckpointFormatError(f"{source}: {key!r} has non-float dtype {value.dtype}")
        out[key] = value
    return out


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else repr(e)


def _classify_unpickling_error(path: Path, err: pickle.UnpicklingError) -> Exception:
    """Unsafe pickle (names the globals it needs) or merely a broken file."""
    globals_found, truncated = _pickle_globals(path)
    unsafe = [g for g in globals_found if not g.startswith(_SAFE_GLOBAL_PREFIXES)]
    if unsafe:
        return UnsafeCheckpointError(
            f"{path}: refusing to load: the pickle needs arbitrary code ({', '.join(unsafe)}); "
            "checkpoints are loaded with torch.load(weights_only=True) and only tensors, "
            "dicts and numbers are allowed. Nothing was executed.",
            unsafe,
        )
    what = "truncated" if truncated else "unreadable"
    return CheckpointFormatError(f"{path}: {what} torch pickle ({_first_line(err)})")


def _pickle_bytes(path: Path) -> bytes | None:
    """The pickle stream of a checkpoint (zip or legacy), or None when unreadable."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.endswith("data.pkl")]
                return z.read(names[0]) if names else b""
        return path.read_bytes()
    except (OSError, zipfile.BadZipFile, EOFError):
        return None


class _GlobalsScan:
    """Follows the strings a pickle pushes and memoizes, to name the globals it imports."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.strings: list[str] = []
        self.memo: dict[int, str] = {}

    def step(self, op: pickletools.OpcodeInfo, arg: object) -> None:
        strings, memo = self.strings, self.memo
        if op.name == "GLOBAL":
            self.found.append(str(arg).replace(" ", "."))
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            self.found.append(f"{strings[-2]}.{strings[-1]}")
        elif isinstance(arg, str) and "UNICODE" in op.name:
            strings.append(arg)
        elif op.name == "MEMOIZE" and strings:
            memo[len(memo)] = strings[-1]
        elif op.name in ("PUT", "BINPUT", "LONG_BINPUT") and strings:
            memo[int(arg)] = strings[-1]  # type: ignore[call-overload]
        elif op.name in ("BINGET", "LONG_BINGET") and arg in memo:
            strings.append(memo[arg])  # type: ignore[index]


def _pickle_globals(path: Path) -> tuple[list[str], bool]:
    """Globals referenced by the checkpoint's pickle stream, read statically (never executed).

    Returns the dotted names and whether the stream ended early.
    """
    data = _pickle_bytes(path)
    if data is None:
        return [], True
    scan = _GlobalsScan()
    try:
        for op, arg, _pos in pickletools.genops(io.BytesIO(data)):
            scan.step(op, arg)
            if op.name == "STOP":
                return scan.found, False
    except Exception:  # genops raises assorted errors on a cut-off stream
        return scan.found, True
    return scan.found, True


# --------------------------------------------------------------------------- validation
def infer_scale(state_dict: StateDict, source: str = "state dict") -> int:
    """Channel scale from ``embedder.block1.conv.weight``, checked against blocks 2 and 3."""
    key = "embedder.block1.conv.weight"
    if key not in state_dict:
        raise StateDictKeysError([key], [], source)
    c1 = int(state_dict[key].shape[0])
    if c1 < BASE_CHANNELS[0] or c1 % BASE_CHANNELS[0]:
        raise ChannelScaleError(
            f"{source}: {key} has {c1} output channels; expected a multiple of "
            f"{BASE_CHANNELS[0]} (channel scale = channels // {BASE_CHANNELS[0]})"
        )
    scale = c1 // BASE_CHANNELS[0]
    for block, base in (("block2", BASE_CHANNELS[1]), ("block3", BASE_CHANNELS[2])):
        k = f"embedder.{block}.conv.weight"
        if k in state_dict and int(state_dict[k].shape[0]) != base * scale:
            raise ChannelScaleError(
                f"{source}: {key} implies channel scale {scale} ({base * scale} channels in "
                f"{block}), but {k} has {int(state_dict[k].shape[0])} output channels"
            )
    return scale


def build_policy(
    state_dict: StateDict, source: str = "state dict", num_actions: int = NUM_ACTIONS
) -> ImpalaPolicy:
    """A float32 CPU :class:`ImpalaPolicy` holding ``state_dict``, after strict validation."""
    scale = infer_scale(state_dict, source)
    head = "fc_policy.weight"
    if head in state_dict and int(state_dict[head].shape[0]) != num_actions:
        raise ActionCountError(int(state_dict[head].shape[0]), num_actions, source)
    policy = ImpalaPolicy(scale=scale, num_actions=num_actions)
    expected = policy.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    if missing or unexpected:
        raise StateDictKeysError(missing, unexpected, source)
    mismatches = [
        (k, tuple(v.shape), tuple(state_dict[k].shape))
        for k, v in expected.items()
        if tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    if mismatches:
        raise ShapeMismatchError(mismatches, source)
    for k, v in state_dict.items():
        if not bool(torch.isfinite(v).all()):
            raise CheckpointFormatError(f"{source}: {k!r} contains NaN or infinite values")
    policy.load_state_dict({k: v.to(torch.float32) for k, v in state_dict.items()}, strict=True)
    return policy.eval()


def load_policy(
    source: str | os.PathLike | StateDict,
    device: str | torch.device = "auto",
    num_actions: int = NUM_ACTIONS,
) -> LoadedPolicy:
    """Load a checkpoint file or an in-memory state dict as an eval-mode float32 policy.

    ``device``: ``"auto"`` (cuda when available, else cpu), ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
    """
    dev = resolve_device(device)
    if isinstance(source, Mapping):
        state_dict = extract_state_dict(source, "state dict")
        name, kind, digest = "state dict", "state_dict", state_dict_sha256(state_dict)
    else:
        path = _existing_file(source)
        state_dict = read_state_dict(path)
        name, kind, digest = str(path), "file", checkpoint_sha256(path)
    # channels_last matches the renderer's NHWC observations: ~3x faster convolutions on CPU.
    policy = build_policy(state_dict, name, num_actions).to(dev, memory_format=torch.channels_last)
    info = PolicyInfo(
        sha256=digest,
        scale=policy.scale,
        source=name,
        kind=kind,
        num_actions=num_actions,
        device=str(dev),
    )
    return LoadedPolicy(policy, info)


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
