"""A pretend second device on the CPU: device bugs found without a GPU.

On CUDA three things go wrong that a CPU run never shows: a tensor left on the CPU meets one
on the GPU (an error), a GPU tensor goes to numpy (an error), and a value read back to the
host (``.item()``, ``float(t)``, ``.cpu()``, ``if t.any():``) stalls the pipeline until the
GPU has caught up. :class:`FakeDevice` is a torch function mode that keeps everything on the
CPU but marks the storages of the policy's parameters as living on :data:`FAKE_DEVICE`.
Whatever is computed from marked tensors, created with ``device=FAKE_DEVICE`` or moved there
is marked too, and marked tensors report :data:`FAKE_DEVICE` as their ``.device``, so code
that follows the policy's device follows this one. Then, as CUDA would:

- an operation that mixes marked and unmarked tensors raises :class:`FakeDeviceError`
  (an unmarked 0-dim tensor is allowed, as CUDA allows CPU scalars; so are CPU index
  tensors in ``t[index]``);
- ``.numpy()`` or ``np.asarray`` of a marked tensor raises;
- a read back to the host is counted per call site (:attr:`FakeDevice.syncs`).

The mark sits on the storage, not on the Python object, so views, ``.data``, detached copies
and parameters rebuilt by ``copy.deepcopy`` keep it, and it dies with the storage.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

#: The pretend device (torch's spare backend slot; no kernel ever runs on it).
FAKE_DEVICE = torch.device("privateuseone", 0)
_MARK = "_maze_claims_fake_device"
_CPU = torch.device("cpu")
_T = torch.Tensor

_PROJECT = Path(__file__).resolve().parents[2]
_SKIP_DIRS = (str(Path(torch.__file__).parent), str(Path(__file__).resolve()))


class FakeDeviceError(RuntimeError):
    """What CUDA would refuse: mixing devices, or numpy of a device tensor."""


def _storage(t: torch.Tensor) -> Any:
    try:
        return t.untyped_storage()
    except (RuntimeError, NotImplementedError):  # sparse or storage-less tensors
        return None


def is_marked(t: torch.Tensor) -> bool:
    """Whether ``t`` lives on the pretend device."""
    s = _storage(t)
    return s is not None and getattr(s, _MARK, False)


def _mark(t: torch.Tensor) -> None:
    s = _storage(t)
    if s is not None:
        setattr(s, _MARK, True)


def _tensors(obj: Any) -> list[torch.Tensor]:
    return [x for x in tree_leaves(obj) if isinstance(x, torch.Tensor)]


def _shares(a: torch.Tensor, bs: Iterable[torch.Tensor]) -> bool:
    sa = _storage(a)
    return sa is not None and any(_storage(b) is sa for b in bs)


def _accessor(func: Any, kind: str, descriptor: Any) -> bool:
    """Whether ``func`` is the ``kind`` ("__get__"/"__set__") of a Tensor property: torch
    hands the mode a fresh method-wrapper each time, so compare its descriptor."""
    return getattr(func, "__name__", "") == kind and getattr(func, "__self__", None) is descriptor


def _getter(func: Any, descriptor: Any) -> bool:
    return _accessor(func, "__get__", descriptor)


# Reads back to the host: each blocks until the device has finished the work before it.
_SYNCS: dict[Any, str] = {
    _T.item: "item()",
    _T.tolist: "tolist()",
    _T.__bool__: "bool()",
    _T.__int__: "int()",
    _T.__float__: "float()",
    _T.__index__: "index()",
    _T.__format__: "format()",
    _T.__repr__: "repr()",
    _T.nonzero: "nonzero()",
    torch.nonzero: "nonzero()",
    torch.argwhere: "argwhere()",
    _T.masked_select: "masked_select()",
    torch.masked_select: "masked_select()",
    torch.unique: "unique()",
    _T.unique: "unique()",
    torch.equal: "equal()",
    _T.equal: "equal()",
    torch.allclose: "allclose()",
    _T.allclose: "allclose()",
}
_TO_NUMPY = {_T.numpy, _T.__array__}
# CUDA accepts CPU index tensors here, and ``.data = x`` rebinds a parameter to a moved copy.
_MIXING_ALLOWED = {_T.__getitem__, _T.__setitem__, torch._has_compatible_shallow_copy_type}


class FakeDevice(TorchFunctionMode):
    """The mode; enter it (``with FakeDevice() as fake:``), then :meth:`adopt` a module."""

    def __init__(self) -> None:
        super().__init__()
        #: (call site, what) -> count of reads back to the host
        self.syncs: Counter[tuple[str, str]] = Counter()

    # ------------------------------------------------------------------ public
    def adopt(self, module: nn.Module) -> nn.Module:
        """Put ``module``'s parameters and buffers on the pretend device (in place)."""
        for t in [*module.parameters(), *module.buffers()]:
            _mark(t)
        return module

    @property
    def total_syncs(self) -> int:
        return sum(self.syncs.values())

    def sync_table(self) -> list[tuple[str, str, int]]:
        """(call site, what, count), most frequent first."""
        return [(site, what, n) for (site, what), n in self.syncs.most_common()]

    # ------------------------------------------------------------------ the mode
    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: C901
        kwargs = kwargs or {}
        if func is _T.untyped_storage or _getter(func, _T.is_cuda):
            return func(*args, **kwargs)
        if _getter(func, _T.device):
            return FAKE_DEVICE if is_marked(args[0]) else func(*args)
        if _getter(func, _T.is_cpu):
            return False if is_marked(args[0]) else func(*args)
        if func is _T.cuda:
            raise FakeDeviceError(f"{self._site()}: .cuda() ignores the policy's device; use .to")
        if func is _T.cpu:
            return self._to_host(func, args, kwargs, "cpu()")
        if func is _T.to:
            return self._to(func, args, kwargs)
        if func is _T.copy_:
            if is_marked(args[1]) and not is_marked(args[0]):
                self._count("copy_() to the host")
            return func(*args, **kwargs)
        if "device" in kwargs:
            return self._with_device(func, args, kwargs)
        inputs = _tensors((args, kwargs))
        marked = [t for t in inputs if is_marked(t)]
        if not marked:
            return func(*args, **kwargs)
        self._check_generator(func, kwargs)
        if func in _TO_NUMPY:
            raise FakeDeviceError(
                f"{self._site()}: .numpy() of a tensor on {FAKE_DEVICE} (CUDA refuses it); "
                "move it with .cpu() first"
            )
        if func in _SYNCS:
            self._count(_SYNCS[func])
        elif func is _T.__getitem__ and _has_bool_index(args[1:]):
            self._count("boolean-mask indexing")
        if func not in _MIXING_ALLOWED and not _accessor(func, "__set__", _T.data):
            loose = [t for t in inputs if not is_marked(t) and t.dim() > 0]
            if loose:
                shapes = ", ".join(str(tuple(t.shape)) for t in loose[:3])
                raise FakeDeviceError(
                    f"{self._site()}: {_name(func)} mixes tensors on {FAKE_DEVICE} with CPU "
                    f"tensors of shape {shapes} (CUDA refuses it); move them with "
                    ".to(device) first"
                )
        out = func(*args, **kwargs)
        for t in _tensors(out):
            _mark(t)
        return out

    # ------------------------------------------------------------------ transfers
    def _to(self, func, args, kwargs):
        self_t, rest = args[0], args[1:]
        other = rest[0] if rest and isinstance(rest[0], torch.Tensor) else kwargs.get("other")
        if isinstance(other, torch.Tensor):
            target = FAKE_DEVICE if is_marked(other) else other.device
        else:
            target = torch._C._nn._parse_to(*rest, **kwargs)[0]
        if target is None:  # dtype or memory format only: stays where it is
            out = func(*args, **kwargs)
            if is_marked(self_t):
                _mark(out)
            return out
        args, kwargs = _cpu_device_args(args, kwargs)
        if target.type == FAKE_DEVICE.type:
            out = func(*args, **kwargs)
            if not is_marked(self_t) and _shares(out, [self_t]):
                out = out.clone()
            _mark(out)
            return out
        if target.type != "cpu":
            raise FakeDeviceError(
                f"{self._site()}: moves a tensor to {target}; under the device check only "
                f"{FAKE_DEVICE} and the CPU exist"
            )
        return self._to_host(func, args, kwargs, "to(cpu)")

    def _to_host(self, func, args, kwargs, what: str):
        src = args[0]
        out = func(*args, **kwargs)
        if is_marked(src):
            self._count(what)
            if _shares(out, [src]):
                out = out.clone()
        return out

    def _with_device(self, func, args, kwargs):
        """Factories and ``*_like``/``new_*``/``as_tensor`` calls that name a device."""
        target = None if kwargs["device"] is None else torch.device(kwargs["device"])
        if target is not None and target.type not in ("cpu", FAKE_DEVICE.type):
            raise FakeDeviceError(
                f"{self._site()}: {_name(func)}(device={target}); under the device check "
                f"only {FAKE_DEVICE} and the CPU exist"
            )
        inputs = _tensors((args, {k: v for k, v in kwargs.items() if k != "device"}))
        kwargs = {**kwargs, "device": "cpu" if target is not None else None}
        out = func(*args, **kwargs)
        on_fake = target is None and any(is_marked(t) for t in inputs)
        on_fake = on_fake or (target is not None and target.type == FAKE_DEVICE.type)
        outs = _tensors(out)
        if on_fake:
            self._check_generator(func, kwargs)
            loose = [t for t in inputs if not is_marked(t)]
            if any(_shares(t, loose) for t in outs):
                out = _clone_all(out)
                outs = _tensors(out)
            for t in outs:
                _mark(t)
            return out
        marked_in = [t for t in inputs if is_marked(t)]
        if marked_in:
            self._count(f"{_name(func)}(device=cpu)")
            if any(_shares(t, marked_in) for t in outs):
                out = _clone_all(out)
        return out

    def _check_generator(self, func, kwargs) -> None:
        """CUDA draws random numbers for a device tensor only from a CUDA generator."""
        gen = kwargs.get("generator")
        if isinstance(gen, torch.Generator):
            raise FakeDeviceError(
                f"{self._site()}: {_name(func)} draws for a tensor on {FAKE_DEVICE} from a "
                f"{gen.device} generator (CUDA refuses it); draw on the CPU and move the "
                "result, which also keeps the numbers the same on every device"
            )

    # ------------------------------------------------------------------ call sites
    def _count(self, what: str) -> None:
        self.syncs[(self._site(), what)] += 1

    @staticmethod
    def _site() -> str:
        """The innermost frame outside torch and this module (project-relative path)."""
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename.startswith(_SKIP_DIRS):
            frame = frame.f_back
        if frame is None:
            return "<unknown>"
        path = Path(frame.f_code.co_filename)
        with suppress(ValueError):
            path = path.resolve().relative_to(_PROJECT)
        return f"{path}:{frame.f_lineno} ({frame.f_code.co_name})"


def _name(func: Any) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))


def _has_bool_index(index: tuple) -> bool:
    return any(t.dtype == torch.bool and t.dim() > 0 for t in _tensors(index))


def _cpu_device_args(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """``t.to(device, ...)`` with the pretend device replaced by the CPU."""
    rest = list(args[1:])
    if rest and isinstance(rest[0], (str, torch.device)):
        rest[0] = _CPU
    if "device" in kwargs:
        kwargs = {**kwargs, "device": _CPU}
    return (args[0], *rest), kwargs


def _clone_all(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out.clone()
    if isinstance(out, (list, tuple)):
        return type(out)(_clone_all(x) for x in out)
    return out


@contextmanager
def fake_device(*modules: nn.Module) -> Iterator[FakeDevice]:
    """``with fake_device(policy) as fake:`` -- the policy on the pretend device."""
    with FakeDevice() as mode:
        for m in modules:
            mode.adopt(m)
        yield mode


def describe_check() -> str:
    """The run-header note of a ``--fake-device`` run."""
    return (
        f"device check (--fake-device): the policy ran on the CPU posing as {FAKE_DEVICE}; "
        "an operation mixing it with CPU tensors, or numpy of one of its tensors, would have "
        "raised, as on CUDA; numbers are the CPU's"
    )


def sync_lines(rows: Iterable[tuple[str, str, int]], top: int = 15) -> list[str]:
    """The terminal's host-sync table: total, then the busiest call sites."""
    rows = sorted(rows, key=lambda r: (-r[2], r[0], r[1]))
    total = sum(n for _, _, n in rows)
    out = [f"device check: {total} host syncs at {len(rows)} call sites (busiest first)"]
    out += [f"  {n:>8}  {what:<22} {site}" for site, what, n in rows[:top]]
    if len(rows) > top:
        out.append(f"  ... {len(rows) - top} more sites")
    return out
