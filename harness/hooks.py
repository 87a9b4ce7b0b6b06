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
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np
import torch
from torch import nn

from harness.interventions import Apply, Intervention, LayerInfo, flatten
from harness.policy.device import PolicyOutput, module_device

T = TypeVar("T")
#: Per batch row, the index of the example its per-example intervention data belongs to.
Owners = np.ndarray | torch.Tensor | Sequence[int] | None

SUFFIX = "_out"
_OBS_SHAPE = (3, 64, 64)


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
class HookedPolicy:
    """What the harness knows about one policy: its hook labels and modules, each layer's
    per-example shape, and a memo of expensive pure results computed from it.

    There is one per policy object (:func:`hooked`), kept in a weak-keyed map: it goes away
    with the policy, and a new policy never inherits an old one's entries (no ``id()``
    reuse). It holds no strong reference to the policy itself.
    """

    def __init__(self, policy: nn.Module) -> None:
        self._policy = weakref.ref(policy)
        #: Hook label -> module (the architecture is fixed at construction).
        self.modules: dict[str, nn.Module] = {
            f"{name}{SUFFIX}": m for name, m in policy.named_modules() if name
        }
        self.leaves = frozenset(
            f"{n}{SUFFIX}" for n, m in policy.named_modules() if n and not list(m.children())
        )
        self._shapes: dict[str, tuple[int, ...]] | None = None
        self._memo: dict[Hashable, Any] = {}

    @property
    def policy(self) -> nn.Module:
        policy = self._policy()
        if policy is None:  # pragma: no cover - the map drops entries of dead policies
            raise RuntimeError("the policy of this HookedPolicy no longer exists")
        return policy

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Hook label -> per-example output shape, in forward order (one dummy pass, once)."""
        if self._shapes is None:
            self._shapes = _trace_shapes(self.policy, self.modules)
        return self._shapes

    def resolve(self, label: str) -> str:
        """``label`` itself if the policy has it, else :class:`UnknownLayerError`."""
        if label not in self.modules:
            raise UnknownLayerError(label, list(self.shapes))
        return label

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` once per key for this policy (for results that are pure functions of
        the policy and the key, e.g. an NMF fit or exact episode outcomes)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


_HOOKED: weakref.WeakKeyDictionary[nn.Module, HookedPolicy] = weakref.WeakKeyDictionary()


def hooked(policy: nn.Module) -> HookedPolicy:
    """The policy's :class:`HookedPolicy` (made on first use)."""
    state = _HOOKED.get(policy)
    if state is None:
        state = _HOOKED[policy] = HookedPolicy(policy)
    return state


def layer_shapes(policy: nn.Module, containers: bool = True) -> dict[str, tuple[int, ...]]:
    """Hook label -> per-example output shape, in the order the forward pass produces them.

    ``containers=False`` keeps only leaf modules, so each activation appears once (a block's
    output equals its last child's).
    """
    state = hooked(policy)
    if containers:
        return dict(state.shapes)
    return {k: v for k, v in state.shapes.items() if k in state.leaves}


def _trace_shapes(policy: nn.Module, modules: dict[str, nn.Module]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []

    def recorder(label: str):
        def hook(_module, _inputs, output):
            if isinstance(output, torch.Tensor):
                shapes[label] = tuple(output.shape[1:])

        return hook

    try:
        for label, module in modules.items():
            handles.append(module.register_forward_hook(recorder(label)))
        with torch.inference_mode():
            policy(torch.zeros((1, *_OBS_SHAPE), device=module_device(policy)))
    finally:
        for h in handles:
            h.remove()
    return shapes


def resolve_label(policy: nn.Module, label: str) -> str:
    """``label`` itself if the policy has it, else :class:`UnknownLayerError` with suggestions."""
    return hooked(policy).resolve(label)


# --------------------------------------------------------------------------- install
class _Installed:
    """Forward hooks for one ``intervening`` / ``run_with_cache`` call; removed by close()."""

    def __init__(self) -> None:
        self.handles: list[torch.utils.hooks.RemovableHandle] = []

    def close(self) -> None:
        while self.handles:
            self.handles.pop().remove()


def _prepare(
    policy: nn.Module, interventions: Iterable[Intervention], owners: Owners = None
) -> dict[str, list[Apply]]:
    """Validate every part against its layer; group the ready functions by label, in order.

    ``owners[i]`` is the example (maze) that batch row ``i`` belongs to: per-example data of
    an intervention is indexed by it (``None``: row ``i`` is example ``i``).
    """
    state = hooked(policy)
    device = module_device(policy)
    if isinstance(owners, torch.Tensor):  # one copy to the host, for the shape checks
        owners = owners.detach().cpu().numpy()
    host = None if owners is None else np.asarray(owners, dtype=np.int64).reshape(-1)
    rows = None if host is None else torch.from_numpy(host).to(device)
    host_rows = None if host is None else tuple(host.tolist())
    by_label: dict[str, list[Apply]] = {}
    for iv in flatten(interventions):
        label = state.resolve(iv.layer)
        info = LayerInfo(label, state.shapes[label], device, rows, host_rows)
        by_label.setdefault(label, []).append(iv.prepare(info))
    return by_label


def _install(
    policy: nn.Module,
    edits: dict[str, list[Apply]],
    cache: dict[str, torch.Tensor] | None = None,
    cache_labels: Sequence[str] = (),
) -> _Installed:
    modules = hooked(policy).modules
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
    policy: nn.Module,
    interventions: Intervention | Iterable[Intervention],
    owners: Owners = None,
) -> Iterator[nn.Module]:
    """Apply interventions to every forward pass of ``policy`` inside the ``with`` block.

    Everything is validated before any hook is installed (unknown layer, channel or cell out
    of range, wrong vector shape or device raise here). Contexts nest; each removes only
    its own hooks. With ``owners``, per-example data is indexed by each row's owner (one
    cheese vector per maze, many rows per maze); see :func:`_prepare`.
    """
    edits = _prepare(
        policy,
        [interventions] if isinstance(interventions, Intervention) else interventions,
        owners,
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
    owners: Owners = None,
) -> CachedRun:
    """One forward pass returning logits, values and the activations at ``labels``.

    Activations are recorded after any interventions at the same layer (what downstream
    layers saw). Runs under ``torch.inference_mode()`` unless ``grad=True``. ``owners`` as
    for :func:`intervening`.
    """
    state = hooked(policy)
    labels = [state.resolve(label) for label in labels]
    if isinstance(interventions, Intervention):
        interventions = [interventions]
    edits = _prepare(policy, interventions, owners)
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
