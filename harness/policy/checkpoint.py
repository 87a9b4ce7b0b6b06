"""Load, validate, save and identify IMPALA checkpoints (Langosco et al.'s format).

A checkpoint file is untrusted input: it is read with ``torch.load(weights_only=True)``
only, and every way it can be wrong raises a typed :class:`~harness.policy.errors.CheckpointError`
that names the key, the expected and the actual value. A pickle that needs code is refused
and the refused globals are named, read statically from the pickle opcodes (never run).
The channel scale is inferred from the weights (``embedder.block1.conv.weight.shape[0] //
16``) and checked for consistency.

Accepted layouts (one level of wrapping is unwrapped; how is recorded in
:class:`CheckpointLayout`):

* train-procgen-pytorch: ``{"model_state_dict": {...}, "optimizer_state_dict": {...}}``,
  other top-level entries (epoch, config, ...) ignored;
* ``{"state_dict": {...}}`` or ``{"model": {...}}`` likewise, or a bare state dict;
* keys all prefixed ``module.`` (``nn.DataParallel``): the prefix is stripped once.

Weights in float16, bfloat16 or float64 are cast to float32, the dtype the policy computes
in: every float16/bfloat16 value is exact in float32, and float64 rounds to what a float32
policy would compute anyway (a value too large for float32 is refused as non-finite).
Integer, bool and complex tensors are refused: no IMPALA weight has such a dtype.

A checkpoint is identified in reports by the sha256 of its file (or, for in-memory
weights, of a canonical serialization of the unwrapped state dict).
"""

from __future__ import annotations

import _compat_pickle
import contextlib
import functools
import hashlib
import io
import os
import pickle
import pickletools
import re
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import torch

from harness.actions import NUM_ACTIONS
from harness.policy.device import resolve_device
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
    short_list,
)
from harness.policy.impala import BASE_CHANNELS, ImpalaPolicy

StateDict = Mapping[str, torch.Tensor]
Container = Literal["zip", "legacy", "memory"]

#: Top-level keys training code nests the weights under; exactly one level is unwrapped.
WRAPPER_KEYS = ("model_state_dict", "state_dict", "model")
#: What ``nn.DataParallel`` / ``DistributedDataParallel`` put before every key.
PARALLEL_PREFIX = "module."
#: Weight dtypes accepted and cast to float32 (see the module docstring for why).
FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)
#: File names offered when a directory is passed instead of a checkpoint.
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin", ".tar")

#: Fallback for naming refused globals when torch's allowlist is not importable (only used
#: to word errors; the refusal itself is ``torch.load(weights_only=True)``'s).
_SAFE_GLOBAL_PREFIXES = ("torch.", "collections.OrderedDict", "_codecs.encode", "builtins.set")
_HASH_CHUNK = 1 << 20
_ZIP_MAGIC = b"PK\x03\x04"
_EXPECTED = (
    "expected a state dict (parameter name -> tensor), or a dict holding one under "
    + " or ".join(repr(k) for k in WRAPPER_KEYS)
)
_RESAVE = "re-save the weights alone with torch.save(model.state_dict(), path)"
#: Sentences of torch's error text that must never reach our messages (they suggest
#: disabling the safe loader or allowlisting globals).
_UNSAFE_ADVICE = re.compile(
    r"weights.only|trust|safe_globals|allowlist|file an issue|documentation", re.IGNORECASE
)
_DOTTED = re.compile(r"[A-Za-z_][\w.]*")


@dataclass(frozen=True)
class CheckpointLayout:
    """How the weights were found in a checkpoint, so a report can say what was unwrapped."""

    container: Container  # "zip" (torch >= 1.6), "legacy" (older torch.save), "memory"
    wrapper: str | None = None  # the top-level key holding the state dict; None: bare
    stripped_prefix: str | None = None  # "module." when every key carried it
    ignored_keys: tuple[str, ...] = ()  # other top-level entries (optimizer state, epoch...)
    cast_from: tuple[str, ...] = ()  # dtypes converted to float32, e.g. ("float16",)

    def __str__(self) -> str:
        where = {"zip": "torch zip file", "legacy": "legacy torch file", "memory": "in memory"}
        parts = [where[self.container]]
        parts.append(f"weights under {self.wrapper!r}" if self.wrapper else "bare state dict")
        if self.ignored_keys:
            parts.append(f"ignored {short_list(self.ignored_keys)}")
        if self.stripped_prefix:
            parts.append(f"stripped key prefix {self.stripped_prefix!r}")
        if self.cast_from:
            parts.append(f"cast {', '.join(self.cast_from)} to float32")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "wrapper": self.wrapper,
            "stripped_prefix": self.stripped_prefix,
            "ignored_keys": list(self.ignored_keys),
            "cast_from": list(self.cast_from),
            "summary": str(self),
        }


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "scale": self.scale,
            "source": self.source,
            "kind": self.kind,
            "num_actions": self.num_actions,
            "device": self.device,
            "layout": self.layout.to_dict() if self.layout else None,
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
    """The path, ``~`` expanded, if it names a regular file; a directory gets a hint."""
    given = os.fspath(path)
    try:
        p = Path(given).expanduser()
    except RuntimeError as e:  # "~nosuchuser/..." or no home directory
        raise CheckpointNotFoundError(
            f"checkpoint {given!r}: cannot expand '~' ({e}); pass an absolute path"
        ) from None
    name = repr(str(p)) + (f" (expanded from {given!r})" if str(p) != given else "")
    if not p.exists():
        raise CheckpointNotFoundError(f"checkpoint {name} does not exist")
    if p.is_dir():
        inside = sorted(c.name for c in p.iterdir() if c.suffix in CHECKPOINT_SUFFIXES)
        hint = f"one of the files in it: {short_list(inside, 5)}" if inside else "a .pth file"
        raise CheckpointNotFoundError(
            f"checkpoint {name} is a directory, not a checkpoint file; pass {hint}"
        )
    if not p.is_file():
        raise CheckpointNotFoundError(
            f"checkpoint {name} is not a regular file (a device or pipe?); pass a .pth file"
        )
    return p


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], CheckpointLayout]:
    """The float32 model weights of a checkpoint file and how they were found in it."""
    p = _existing_file(path)
    raw, layout = _read_raw(p)
    return _float32_weights(raw, _where(str(p), layout)), layout


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The model weights of a checkpoint file (see :func:`read_checkpoint`)."""
    return read_checkpoint(path)[0]


def _read_raw(p: Path) -> tuple[dict[str, Any], CheckpointLayout]:
    """Unwrapped but not yet value-checked weights: keys are checked before values."""
    container = _container(p)
    return unwrap_state_dict(_torch_load(p, container), str(p), container)


def _container(p: Path) -> Container:
    """``zip`` or ``legacy``, after refusing what torch.load must not even see."""
    if p.stat().st_size == 0:
        raise NotACheckpointError(
            f"{p}: the file is empty (0 bytes): an interrupted save or download? "
            "save or fetch it again"
        )
    with open(p, "rb") as f:
        head = f.read(64)
    if head.startswith(_ZIP_MAGIC):
        _check_torch_zip(p)
        return "zip"
    if _is_legacy_torch(head):
        return "legacy"
    raise _not_torch_error(p)


def _check_torch_zip(p: Path) -> None:
    try:
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        raise CorruptCheckpointError(
            f"{p}: truncated or corrupted zip archive (no readable central directory): the "
            "save, download or copy probably stopped early; save, fetch or copy it again"
        ) from None
    if any(n.endswith("/constants.pkl") or "/code/__torch__/" in n for n in names):
        raise TorchScriptArchiveError(
            f"{p}: a TorchScript archive (torch.jit.save), not a state dict checkpoint; "
            f"{_RESAVE} in the code that trained it"
        )
    if _data_pkl_name(names) is None:
        raise NotACheckpointError(
            f"{p}: a zip archive but not a torch checkpoint (no <archive>/data.pkl; it holds "
            f"{short_list(names, 5)}); pass the .pth file written by torch.save"
        )


def _data_pkl_name(names: list[str]) -> str | None:
    return next((n for n in names if n.count("/") == 1 and n.endswith("/data.pkl")), None)


def _is_legacy_torch(head: bytes) -> bool:
    """torch's pre-zip format opens with a tiny pickle of its magic number."""
    try:
        for op, arg, _pos in pickletools.genops(io.BytesIO(head)):
            if op.name.startswith("LONG") and arg == torch.serialization.MAGIC_NUMBER:
                return True
            if op.name == "STOP":
                return False
    except Exception:  # not a pickle, or one cut off by the 64-byte head
        return False
    return False


def _not_torch_error(p: Path) -> CheckpointError:
    """A plain pickle or anything else: refused, unsafe ones named (nothing is unpickled)."""
    with open(p, "rb") as f:
        found, complete = _scan_pickles(f, count=1)
    refused = [g for g in found if _DOTTED.fullmatch(g) and not _is_allowed_global(g)]
    if refused:
        return _unsafe_error(p, refused)
    if complete:
        return NotACheckpointError(
            f"{p}: a plain pickle, not a torch checkpoint (torch.save writes a zip archive); "
            f"{_RESAVE}"
        )
    return NotACheckpointError(
        f"{p}: not a torch checkpoint (neither a zip archive nor a pickle stream); "
        "pass the .pth file written by torch.save"
    )


def _torch_load(p: Path, container: Container) -> object:
    """``torch.load(weights_only=True)``; its failures become typed errors, its text scrubbed.

    Errors are raised ``from None``: torch's own message (which suggests disabling the safe
    loader) must not reach the user through the traceback either.
    """
    try:
        with warnings.catch_warnings():  # torch warns about any pickle protocol but 2
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        error = _classify_unpickling_error(p, container, e)
    except MemoryError:
        raise
    except Exception as e:  # torch raises EOFError, RuntimeError, IndexError, ... on damage
        detail = ": ".join(filter(None, (type(e).__name__, _scrub(str(e)))))
        error = CorruptCheckpointError(
            f"{p}: truncated or corrupted torch file ({detail}); save, fetch or copy it again"
        )
    raise error from None


def _classify_unpickling_error(
    p: Path, container: Container, err: pickle.UnpicklingError
) -> CheckpointError:
    """Unsafe pickle (names the globals it needs) or merely a broken file."""
    found, complete = _pickle_globals(p, container)
    refused = [g for g in found if not _is_allowed_global(g)]
    # torch names the global it hit; trusted only from a complete pickle (in a cut-off one
    # it may be the truncated name of an allowed global)
    for name in re.findall(r"GLOBAL ([A-Za-z_][\w.]*)", str(err)) if complete else ():
        if not any(g == name or g.endswith("." + name) for g in refused):
            refused.append(name)
    if refused:
        return _unsafe_error(p, refused)
    if not complete:
        return CorruptCheckpointError(
            f"{p}: truncated or corrupted torch file (the pickle ends early); "
            "save, fetch or copy it again"
        )
    return CheckpointFormatError(
        f"{p}: unreadable torch pickle ({_torch_reason(str(err))}); {_RESAVE} "
        "using torch.save's default settings"
    )


def _unsafe_error(p: Path, refused: list[str]) -> UnsafeCheckpointError:
    names = list(dict.fromkeys(refused))
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    module = (
        "; it looks like a whole pickled nn.Module (torch.save(model))"
        if any(n.startswith("torch.nn.modules.") for n in names)
        else ""
    )
    return UnsafeCheckpointError(
        f"{p}: refusing to load: the pickle would run arbitrary code ({shown}), which a "
        f"checkpoint of weights never needs; nothing was executed{module}. Ask its author to "
        f"{_RESAVE}",
        names,
    )


def _torch_reason(text: str) -> str:
    """What went wrong, in torch's words minus any advice to weaken the loader."""
    if m := re.search(r"Unsupported operand (\d+)", text):
        return f"pickle opcode {m[1]} is not allowed in a weights file"
    _, marker, detail = text.partition("WeightsUnpickler error:")
    return (_scrub(detail) if marker else "") or "rejected by the safe loader"


def _scrub(text: str, limit: int = 200) -> str:
    """The first sentence of ``text`` that gives no advice about the safe loader."""
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text.strip()):
        sentence = sentence.strip()
        if sentence and not _UNSAFE_ADVICE.search(sentence):
            return sentence[:limit].rstrip(".")
    return ""


def _is_allowed_global(name: str) -> bool:
    allowed = _torch_allowed_globals()
    return name in allowed if allowed else name.startswith(_SAFE_GLOBAL_PREFIXES)


@functools.cache
def _torch_allowed_globals() -> frozenset[str]:
    """torch's own weights-only allowlist (private API: empty when it moves)."""
    try:
        from torch._weights_only_unpickler import _get_allowed_globals

        return frozenset(_get_allowed_globals())
    except Exception:
        return frozenset()


class _GlobalsScan:
    """Follows the strings a pickle pushes and memoizes, to name the globals it imports."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.strings: list[str] = []
        self.memo: dict[int, str] = {}

    def step(self, op: pickletools.OpcodeInfo, arg: object) -> None:
        strings, memo = self.strings, self.memo
        if op.name in ("GLOBAL", "INST"):
            self.found.append(_python3_name(*str(arg).split(" ", 1)))
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            self.found.append(f"{strings[-2]}.{strings[-1]}")
        elif isinstance(arg, str) and ("UNICODE" in op.name or "STRING" in op.name):
            strings.append(arg)
        elif op.name == "MEMOIZE" and strings:
            memo[len(memo)] = strings[-1]
        elif op.name in ("PUT", "BINPUT", "LONG_BINPUT") and strings:
            memo[int(arg)] = strings[-1]  # type: ignore[call-overload]
        elif op.name in ("GET", "BINGET", "LONG_BINGET") and arg in memo:
            strings.append(memo[arg])  # type: ignore[index]


def _python3_name(module: str, name: str = "") -> str:
    """``__builtin__ eval`` -> ``builtins.eval``: the name unpickling would import (protocols
    0-2 write Python 2 module names)."""
    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
    return f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}"


def _scan_pickles(f: IO[bytes], count: int) -> tuple[list[str], bool]:
    """Globals of the next ``count`` pickles in ``f``, read statically (never executed);
    and whether all of them were complete."""
    scan = _GlobalsScan()
    complete = all(_scan_one(f, scan) for _ in range(count))
    return scan.found, complete


def _scan_one(f: IO[bytes], scan: _GlobalsScan) -> bool:
    """Feed one pickle's opcodes to ``scan``; False when it is cut off or no pickle at all."""
    scan.memo = {}  # each pickle has its own memo
    try:
        for op, arg, _pos in pickletools.genops(f):
            scan.step(op, arg)
            if op.name == "STOP":
                return True
    except Exception:  # genops raises assorted errors on a cut-off or non-pickle stream
        return False
    return False


def _pickle_globals(p: Path, container: Container) -> tuple[list[str], bool]:
    """Globals a checkpoint's pickle references: ``<archive>/data.pkl`` of a zip, or the
    first four pickles of a legacy file (magic, protocol, system info, the object)."""
    try:
        if container == "zip":
            with zipfile.ZipFile(p) as z:
                name = _data_pkl_name(z.namelist())
                data = z.read(name) if name else b""
            return _scan_pickles(io.BytesIO(data), count=1)
        with open(p, "rb") as f:
            return _scan_pickles(f, count=4)
    except (OSError, zipfile.BadZipFile, EOFError):
        return [], False


# --------------------------------------------------------------------------- layouts
def unwrap_state_dict(
    obj: object, source: str, container: Container = "memory"
) -> tuple[dict[str, Any], CheckpointLayout]:
    """The state dict inside a loaded checkpoint object and how it was found.

    Unwraps one known wrapper key and a ``module.`` prefix on every key; values are not
    checked yet (:func:`build_policy` does, after the keys).
    """
    if not isinstance(obj, Mapping) or not obj:
        what = "an empty dict" if isinstance(obj, Mapping) else f"a {type(obj).__name__}"
        raise CheckpointLayoutError(f"{source}: holds {what}; {_EXPECTED}; {_RESAVE}")
    wrapper = _find_wrapper(obj, source)
    inner: Mapping[Any, Any] = obj[wrapper] if wrapper else obj
    where = f"{source}[{wrapper!r}]" if wrapper else source
    for key in inner:
        if not isinstance(key, str):
            raise CheckpointLayoutError(
                f"{where}: key {key!r} (of type {type(key).__name__}) is not a parameter name; "
                f"{_EXPECTED}",
                list(inner),
            )
    state, prefix = _strip_parallel_prefix(inner)
    cast = {
        str(v.dtype).removeprefix("torch.")
        for v in state.values()
        if isinstance(v, torch.Tensor) and v.dtype in FLOAT_DTYPES and v.dtype != torch.float32
    }
    layout = CheckpointLayout(
        container=container,
        wrapper=wrapper,
        stripped_prefix=prefix,
        ignored_keys=tuple(str(k) for k in obj if k != wrapper) if wrapper else (),
        cast_from=tuple(sorted(cast)),
    )
    return state, layout


def extract_state_dict(obj: object, source: str) -> dict[str, torch.Tensor]:
    """Pick the float32 model weights out of a loaded checkpoint object."""
    state, layout = unwrap_state_dict(obj, source)
    return _float32_weights(state, _where(source, layout))


def _where(source: str, layout: CheckpointLayout) -> str:
    return f"{source}[{layout.wrapper!r}]" if layout.wrapper else source


def _has_tensor(obj: object) -> bool:
    return isinstance(obj, Mapping) and any(isinstance(v, torch.Tensor) for v in obj.values())


def _describe(value: object) -> str:
    if isinstance(value, Mapping):
        return f"a dict with keys {short_list(list(value), 5)} and no tensors"
    return f"a {type(value).__name__}"


def _find_wrapper(obj: Mapping[Any, Any], source: str) -> str | None:
    """The one wrapper key holding tensors; None for a bare state dict."""
    keys = list(obj)
    present = [k for k in WRAPPER_KEYS if k in obj]
    holding = [k for k in present if _has_tensor(obj[k])]
    if len(holding) > 1:
        raise AmbiguousLayoutError(
            f"{source}: ambiguous: {' and '.join(repr(k) for k in holding)} both hold a state "
            f"dict; keep one, e.g. torch.save(checkpoint[{holding[0]!r}], path)",
            keys,
            holding,
        )
    if holding:
        return holding[0]
    if _has_tensor(obj):
        return None
    if present:
        detail = f"{present[0]!r} holds {_describe(obj[present[0]])} (one level is unwrapped)"
    else:
        nested = next((k for k, v in obj.items() if _has_tensor(v)), None)
        detail = "no tensors at the top level" + (
            f" ({nested!r} holds some: re-save it with torch.save(checkpoint[{nested!r}], path))"
            if nested is not None
            else ""
        )
    raise CheckpointLayoutError(
        f"{source}: no state dict found: top-level keys {short_list(keys)}; {detail}; {_EXPECTED}",
        keys,
    )


def _strip_parallel_prefix(state: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    if all(k.startswith(PARALLEL_PREFIX) for k in state):
        return {k.removeprefix(PARALLEL_PREFIX): v for k, v in state.items()}, PARALLEL_PREFIX
    return dict(state), None


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
            f"name to a dense tensor; {_RESAVE}",
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
) -> LoadedPolicy:
    """Load a checkpoint file or an in-memory state dict as an eval-mode float32 policy.

    ``device``: ``"auto"`` (cuda when available, else cpu), ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
    A path may start with ``~``. The layouts of the module docstring are accepted for both.
    """
    dev = resolve_device(device)
    if isinstance(source, Mapping):
        raw, layout = unwrap_state_dict(source, "state dict")
        name, kind = "state dict", "state_dict"
    else:
        path = _existing_file(source)
        raw, layout = _read_raw(path)
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
