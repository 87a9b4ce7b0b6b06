"""The network under test, with the facts its profile states about it.

Claims never hard-code a layer or a channel: they ask the :class:`Subject` (built by the
pytest fixtures from ``--checkpoint`` and the active profile) for the layer, the cheese
channels, the maze sizes the policy is declared for, and for runners that apply
interventions. Expensive pure results computed from the policy are memoized on its
:class:`harness.hooks.HookedPolicy` (``subject.hooked.memo``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from harness.behavior.forward import Runner, plain_runner
from harness.hooks import HookedPolicy, hooked, intervening
from harness.interventions import Intervention
from harness.maze.streams import FilteredStream, MazeFilter

if TYPE_CHECKING:
    from harness.analysis.kernel_edit import KernelEdit
    from harness.profiles import Profile

DEFAULT_LAYER = "embedder.block2.res1.resadd_out"


class ProfileFactMissing(LookupError):
    """A claim needs a fact (e.g. the cheese channels) the active profile does not state."""


@dataclass(frozen=True, eq=False)
class Subject:
    """A loaded policy, its device, and its profile's model facts."""

    policy: torch.nn.Module
    device: torch.device
    layer: str = DEFAULT_LAYER
    cheese_channels: tuple[int, ...] = ()
    effective_channels: tuple[int, ...] = ()
    non_cheese_channels: tuple[int, ...] = ()
    min_size: int = 3
    max_size: int = 25
    #: sha256 of the checkpoint's bytes: the key under which results are shared across
    #: claims (None: nothing is shared, e.g. a kernel-edited copy).
    checkpoint_sha256: str | None = None

    @classmethod
    def from_profile(
        cls,
        policy: torch.nn.Module,
        device: torch.device,
        profile: Profile,
        checkpoint_sha256: str | None = None,
    ) -> Subject:
        """The policy with its profile's facts (layer, channels, declared maze sizes)."""
        model = profile.model
        return cls(
            policy=policy,
            device=device,
            checkpoint_sha256=checkpoint_sha256,
            layer=model.layer or DEFAULT_LAYER,
            cheese_channels=tuple(model.cheese_channels or ()),
            effective_channels=tuple(model.effective_channels or ()),
            non_cheese_channels=tuple(model.non_cheese_channels or ()),
            min_size=model.min_size or 3,
            max_size=model.max_size or 25,
        )

    # -- facts ------------------------------------------------------------------------------
    @property
    def hooked(self) -> HookedPolicy:
        """Labels, shapes and the memo of this policy."""
        return hooked(self.policy)

    def require_cheese_channels(self) -> tuple[int, ...]:
        if not self.cheese_channels:
            raise ProfileFactMissing(
                "the profile lists no cheese channels for this checkpoint; discover them with "
                "`python -m harness discover-channels --checkpoint ...` and pass --profile"
            )
        return self.cheese_channels

    @property
    def layer_shape(self) -> tuple[int, ...]:
        return self.hooked.shapes[self.layer]

    @property
    def channel_count(self) -> int:
        return self.layer_shape[0]

    def control_channels(self, k: int, seed: int = 0) -> tuple[int, ...]:
        """``k`` control channels drawn at random (seeded) from the non-cheese channels: the
        profile's ``non_cheese_channels`` pool when it lists one (e.g. channels a planted
        construction leaves empty), else every channel not listed as a cheese channel. The
        post drew random non-cheese channels; the channels that track the cheese *least*
        would be a control chosen to pass."""
        pool = list(self.non_cheese_channels) or [
            c for c in range(self.channel_count) if c not in self.cheese_channels
        ]
        rng = np.random.default_rng([seed, 52])
        return tuple(
            sorted(int(c) for c in rng.choice(pool, size=min(k, len(pool)), replace=False))
        )

    def run_facts(self) -> dict[str, str]:
        """What the report's run header says about the subject."""
        return {"layer": self.layer, "maze_sizes": f"{self.min_size}..{self.max_size}"}

    # -- mazes ------------------------------------------------------------------------------
    def where(self, min_size: int = 3, max_size: int = 25, **conditions) -> MazeFilter:
        """A filter restricted to the maze sizes the policy is declared for (and to
        ``min_size..max_size`` when a claim narrows them further)."""
        return MazeFilter(
            min_size=max(self.min_size, min_size),
            max_size=min(self.max_size, max_size),
            **conditions,
        )

    def stream(self, **conditions) -> FilteredStream:
        """A stream factory ``base_seed -> mazes`` for the claim sampler (a run given
        ``--mazes`` swaps in the given mazes that pass the same filter)."""
        return FilteredStream(self.where(**conditions))

    # -- running ----------------------------------------------------------------------------
    def runner(self, interventions: Sequence[Intervention] = ()) -> Runner:
        """Run the policy, with the interventions applied to every chunk; per-maze data in
        them is indexed by each row's owner (see :func:`harness.hooks.intervening`)."""
        if not interventions:
            return plain_runner(self.policy)
        policy, device = self.policy, self.device

        def run(obs: torch.Tensor, owners: np.ndarray) -> torch.Tensor:
            with intervening(policy, interventions, owners), torch.inference_mode():
                return policy(obs.to(device))[0]

        return run

    def edited(self, edit: KernelEdit) -> Subject:
        """The subject with a kernel-edited copy of its policy (made once per edit)."""
        edited = self.hooked.memo(edit.key, lambda: edit.apply(self.policy))
        return replace(self, policy=edited, checkpoint_sha256=None)
