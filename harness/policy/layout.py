"""Where the weights are inside a loaded checkpoint object, and a record of how they were found.

Accepted layouts (one level of wrapping is unwrapped; how is recorded in
:class:`CheckpointLayout`):

* train-procgen-pytorch: ``{"model_state_dict": {...}, "optimizer_state_dict": {...}}``,
  other top-level entries (epoch, config, ...) ignored;
* ``{"state_dict": {...}}`` or ``{"model": {...}}`` likewise, or a bare state dict;
* keys all prefixed ``module.`` (``nn.DataParallel``): the prefix is stripped once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch

from harness.policy.errors import (
    RESAVE,
    AmbiguousLayoutError,
    CheckpointLayoutError,
    short_list,
)

Container = Literal["zip", "legacy", "memory"]

#: Top-level keys training code nests the weights under; exactly one level is unwrapped.
WRAPPER_KEYS = ("model_state_dict", "state_dict", "model")
#: What ``nn.DataParallel`` / ``DistributedDataParallel`` put before every key.
PARALLEL_PREFIX = "module."
#: Weight dtypes accepted and cast to float32 (see :mod:`harness.policy.checkpoint` for why).
FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)

_EXPECTED = (
    "expected a state dict (parameter name -> tensor), or a dict holding one under "
    + " or ".join(repr(k) for k in WRAPPER_KEYS)
)


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


def unwrap_state_dict(
    obj: object, source: str, container: Container = "memory"
) -> tuple[dict[str, Any], CheckpointLayout]:
    """The state dict inside a loaded checkpoint object and how it was found.

    Unwraps one known wrapper key and a ``module.`` prefix on every key; values are not
    checked yet (:func:`~harness.policy.checkpoint.build_policy` does, after the keys).
    """
    if not isinstance(obj, Mapping) or not obj:
        what = "an empty dict" if isinstance(obj, Mapping) else f"a {type(obj).__name__}"
        raise CheckpointLayoutError(f"{source}: holds {what}; {_EXPECTED}; {RESAVE}")
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
