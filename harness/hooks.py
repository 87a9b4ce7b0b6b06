"""Read and edit a policy's activations at named layers, through forward hooks.

Every module of the interpretable IMPALA has a name, and its output has the hook label
``<module name>_out`` (``embedder.block2.res1.resadd_out``). Two verbs, as in TransformerLens:

- :func:`run_with_cache` -- one batched forward pass that also returns the activations of
  the requested layers;
- :func:`run_with_interventions` -- one batched forward pass with interventions applied;
  :func:`intervening` is the same as a context manager around any code that calls the policy.

Hooks are installed for the duration of the call or the ``with`` block and removed
afterwards, also when the forward pass raises; the model's parameters are never touched, so
after the context its outputs are bit-identical to before.
"""

from __future__ import annotations

import contextlib
import difflib
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import torch
from torch import nn

from harness.interventions import Apply, Intervention, LayerInfo, flatten
from harness.policy.device import PolicyOutput, module_device

SUFFIX = "_out"
_OBS_SHAPE = (3, 64, 64)
_SHAPES: weakref.WeakKeyDictionary[nn.Module, dict[str, tuple[int, ...]]] = (
    weakref.WeakKeyDictionary()
)


class UnknownLayerError(LookupError):
    """A hook label the policy does not have; the message suggests the closest labels."""

    def __init__(self, label: str, known: Sequence[str]) -> None:
        self.label = label
        self.suggestions = tuple(difflib.get_close_matches(label, known, n=5, cutoff=0.5))
        hint = (
            f"; did you mean {', '.join(repr(s) for s in self.suggestions)}?"
            if self.suggestions
            else f"; labels look like {known[0]!r} (see harness.hooks.layer_shapes)"
        )
        super().__init__(f"unknown layer {label!r}{hint}")

    def __str__(self) -> str:  # LookupError would print the repr of the message
        return self.args[0]


# --------------------------------------------------------------------------- labels
_MODULES: weakref.WeakKeyDictionary[nn.Module, dict[str, nn.Module]] = weakref.WeakKeyDictionary()


def _modules_by_label(policy: nn.Module) -> dict[str, nn.Module]:
    """Hook label -> module (cached: the architecture is fixed at construction)."""
    if policy not in _MODULES:
        _MODULES[policy] = {f"{name}{SUFFIX}": m for name, m in policy.named_modules() if name}
    return _MODULES[policy]


def layer_shapes(policy: nn.Module, containers: bool = True) -> dict[str, tuple[int, ...]]:
    """Hook label -> per-example output shape, in the order the forward pass produces them.

    Found with one dummy forward pass (cached per policy). ``containers=False`` keeps only
    leaf modules, so each activation appears once (a block's output equals its last
    child's).
    """
    if policy not in _SHAPES:
        _SHAPES[policy] = _trace_shapes(policy)
    shapes = _SHAPES[policy]
    if containers:
        return dict(shapes)
    leaves = {f"{n}{SUFFIX}" for n, m in policy.named_modules() if n and not list(m.children())}
    return {k: v for k, v in shapes.items() if k in leaves}


def _trace_shapes(policy: nn.Module) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []

    def recorder(label: str):
        def hook(_module, _inputs, output):
            if isinstance(output, torch.Tensor):
                shapes[label] = tuple(output.shape[1:])

        return hook

    try:
        for label, module in _modules_by_label(policy).items():
            handles.append(module.register_forward_hook(recorder(label)))
        with torch.inference_mode():
            policy(torch.zeros((1, *_OBS_SHAPE), device=module_device(policy)))
    finally:
        for h in handles:
            h.remove()
    return shapes


def resolve_label(policy: nn.Module, label: str) -> str:
    """``label`` itself if the policy has it, else :class:`UnknownLayerError` with suggestions."""
    if label not in _modules_by_label(policy):
        raise UnknownLayerError(label, list(layer_shapes(policy)))
    return label


# --------------------------------------------------------------------------- install
class _Installed:
    """Forward hooks for one ``intervening`` / ``run_with_cache`` call; removed by close()."""

    def __init__(self) -> None:
        self.handles: list[torch.utils.hooks.RemovableHandle] = []

    def close(self) -> None:
        while self.handles:
            self.handles.pop().remove()


def _prepare(policy: nn.Module, interventions: Iterable[Intervention]) -> dict[str, list[Apply]]:
    """Validate every part against its layer; group the ready functions by label, in order."""
    if policy not in _SHAPES:
        _SHAPES[policy] = _trace_shapes(policy)
    shapes = _SHAPES[policy]
    device = module_device(policy)
    by_label: dict[str, list[Apply]] = {}
    for iv in flatten(interventions):
        label = resolve_label(policy, iv.layer)
        by_label.setdefault(label, []).append(iv.prepare(LayerInfo(label, shapes[label], device)))
    return by_label


def _install(
    policy: nn.Module,
    edits: dict[str, list[Apply]],
    cache: dict[str, torch.Tensor] | None = None,
    cache_labels: Sequence[str] = (),
) -> _Installed:
    modules = _modules_by_label(policy)
    installed = _Installed()
    try:
        for label in dict.fromkeys([*edits, *cache_labels]):
            fns = tuple(edits.get(label, ()))
            record = cache is not None and label in cache_labels
            installed.handles.append(
                modules[label].register_forward_hook(
                    _make_hook(label, fns, cache if record else None)
                )
            )
    except BaseException:
        installed.close()
        raise
    return installed


def _make_hook(label: str, fns: tuple[Apply, ...], cache: dict[str, torch.Tensor] | None):
    def hook(_module, _inputs, output):
        for fn in fns:
            output = fn(output)
        if cache is not None:
            cache[label] = output
        return output if fns else None

    return hook


@contextlib.contextmanager
def intervening(
    policy: nn.Module, interventions: Intervention | Iterable[Intervention]
) -> Iterator[nn.Module]:
    """Apply interventions to every forward pass of ``policy`` inside the ``with`` block.

    Everything is validated before any hook is installed (unknown layer, channel or cell out
    of range, wrong vector shape or device raise here). Contexts nest; each removes only
    its own hooks.
    """
    edits = _prepare(
        policy, [interventions] if isinstance(interventions, Intervention) else interventions
    )
    installed = _install(policy, edits)
    try:
        yield policy
    finally:
        installed.close()


class Cache(dict):
    """Activations by hook label; a missing label raises with suggestions."""

    def __missing__(self, label: str) -> torch.Tensor:
        raise UnknownLayerError(label, list(self)) if self else KeyError(label)


class CachedRun(NamedTuple):
    logits: torch.Tensor
    value: torch.Tensor
    cache: Cache


def run_with_cache(
    policy: nn.Module,
    obs: torch.Tensor,
    labels: Iterable[str],
    interventions: Intervention | Iterable[Intervention] = (),
    grad: bool = False,
) -> CachedRun:
    """One forward pass returning logits, values and the activations at ``labels``.

    Activations are recorded after any interventions at the same layer (what downstream
    layers saw). Runs under ``torch.inference_mode()`` unless ``grad=True``.
    """
    labels = [resolve_label(policy, label) for label in labels]
    if isinstance(interventions, Intervention):
        interventions = [interventions]
    edits = _prepare(policy, interventions)
    cache = Cache()
    installed = _install(policy, edits, cache, labels)
    try:
        logits, value = _forward(policy, obs, grad)
    finally:
        installed.close()
    return CachedRun(logits, value, Cache({label: cache[label] for label in labels}))


def run_with_interventions(
    policy: nn.Module,
    obs: torch.Tensor,
    interventions: Intervention | Iterable[Intervention],
    grad: bool = False,
) -> PolicyOutput:
    """One forward pass with ``interventions`` applied; hooks removed afterwards."""
    with intervening(policy, interventions):
        return PolicyOutput(*_forward(policy, obs, grad))


def _forward(policy: nn.Module, obs: torch.Tensor, grad: bool) -> tuple[torch.Tensor, torch.Tensor]:
    x = obs.to(module_device(policy), torch.float32)
    if grad:
        return policy(x)
    with torch.inference_mode():
        return policy(x)
