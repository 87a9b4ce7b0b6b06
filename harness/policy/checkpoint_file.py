"""Read a checkpoint file safely: what container it is, and its object via the safe loader.

A checkpoint file is untrusted input: it is read with ``torch.load(weights_only=True)``
only, and every way it can be wrong raises a typed :class:`~harness.policy.errors.CheckpointError`
that names the file and what was expected. A pickle that needs code is refused and the
refused globals are named, read statically from the pickle opcodes (never run). torch's own
error text is scrubbed of any advice to weaken the loader.
"""

from __future__ import annotations

import _compat_pickle
import functools
import io
import os
import pickle
import pickletools
import re
import warnings
import zipfile
from pathlib import Path
from typing import IO, Any

import torch

from harness.policy.errors import (
    RESAVE,
    CheckpointError,
    CheckpointFormatError,
    CheckpointNotFoundError,
    CorruptCheckpointError,
    NotACheckpointError,
    TorchScriptArchiveError,
    UnsafeCheckpointError,
    short_list,
)
from harness.policy.layout import CheckpointLayout, Container, unwrap_state_dict

#: File names offered when a directory is passed instead of a checkpoint.
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin", ".tar")

#: Fallback for naming refused globals when torch's allowlist is not importable (only used
#: to word errors; the refusal itself is ``torch.load(weights_only=True)``'s).
_SAFE_GLOBAL_PREFIXES = ("torch.", "collections.OrderedDict", "_codecs.encode", "builtins.set")
_ZIP_MAGIC = b"PK\x03\x04"
#: Sentences of torch's error text that must never reach our messages (they suggest
#: disabling the safe loader or allowlisting globals).
_UNSAFE_ADVICE = re.compile(
    r"weights.only|trust|safe_globals|allowlist|file an issue|documentation", re.IGNORECASE
)
_DOTTED = re.compile(r"[A-Za-z_][\w.]*")


def existing_file(path: str | os.PathLike) -> Path:
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


def read_raw(p: Path) -> tuple[dict[str, Any], CheckpointLayout]:
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
            f"{RESAVE} in the code that trained it"
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
            f"{RESAVE}"
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
        f"{p}: unreadable torch pickle ({_torch_reason(str(err))}); {RESAVE} "
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
        f"{RESAVE}",
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
