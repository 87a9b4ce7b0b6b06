"""Resampling channels from other mazes (RS family; causal-scrubbing style).

For a maze M and a set of channels, each channel's map at the layer is replaced -- for
every mouse position of M's vector field -- by that channel's map from another maze
(mouse at its start), drawn independently per channel: either a maze whose cheese sits at
M's outer cheese cell (moved there), or a maze whose cheese is elsewhere. The statistic is
the post's average change in action probabilities between M's field and the resampled one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np
import torch

from harness.behavior.compare import field_changes
from harness.experiments.activations import activations, at_start
from harness.experiments.conditions import (
    Condition,
    ConditionExperiment,
    Conditions,
    conditions,
    fields,
)
from harness.experiments.subject import Subject
from harness.interventions import ReplaceChannels
from harness.maze.maze import Maze
from harness.maze.streams import maze_stream, mazes_with_cheese_at

#: Source mazes for channel j of maze M are searched from seed M.seed + SOURCE_STRIDE * (j+1).
SOURCE_STRIDE = 7919


def source_mazes(subject: Subject, maze: Maze, k: int, same_location: bool) -> list[Maze]:
    """``k`` other mazes (one per channel): cheese at M's outer cheese cell, or elsewhere."""
    target = maze.to_outer(maze.cheese)
    out = []
    for j in range(k):
        start = maze.seed + SOURCE_STRIDE * (j + 1)
        if same_location:
            stream = mazes_with_cheese_at(target, start, subject.where(), exclude=[maze.seed])
        else:
            stream = (
                m
                for m in maze_stream(start, subject.where(), exclude=[maze.seed])
                if m.to_outer(m.cheese) != target
            )
        out.append(next(islice(stream, 1)))
    return out


def resampled_maps(
    subject: Subject, mazes: Sequence[Maze], channels: Sequence[int], same_location: bool
) -> torch.Tensor:
    """(mazes, channels, H, W): channel j's map from maze i's j-th source maze."""
    sources = [source_mazes(subject, m, len(channels), same_location) for m in mazes]
    flat = at_start([s for group in sources for s in group])
    acts = activations(subject, flat)[subject.layer]
    k = len(channels)
    maps = acts.reshape(len(mazes), k, *acts.shape[1:])
    idx = torch.arange(k)
    return maps[:, idx, torch.as_tensor(channels)]


@dataclass(frozen=True, eq=False)
class Resampling(ConditionExperiment):
    """Per maze: the field change when the channels are resampled from same-location mazes
    and from different-location mazes (columns ``same_*`` and ``different_*``). With
    ``reference`` channels, the same for them on the same mazes (``reference_same_*``,
    ``reference_different_*``): the effect a "location does not matter" margin is stated
    relative to."""

    subject: Subject
    channels: tuple[int, ...]
    reference: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        object.__setattr__(self, "reference", tuple(int(c) for c in self.reference))

    def arm_names(self) -> list[tuple[str, tuple[int, ...], bool]]:
        sets = [("", self.channels)] + ([("reference_", self.reference)] if self.reference else [])
        return [
            (f"{prefix}{name}", chans, same)
            for prefix, chans in sets
            for name, same in (("same", True), ("different", False))
        ]

    def conditions(self, mazes: Sequence[Maze]) -> Conditions:
        arms = [Condition("unpatched", tuple(mazes))]
        for name, chans, same in self.arm_names():
            maps = resampled_maps(self.subject, mazes, chans, same)
            where = "same" if same else "different"
            patch = ReplaceChannels(self.subject.layer, chans, maps, f"{where}-location maps")
            arms.append(Condition(name, tuple(mazes), (patch,)))
        return conditions(*arms)

    def evaluate(self, mazes: Sequence[Maze], arms: Conditions) -> dict[str, np.ndarray]:
        del mazes
        base = fields(self.subject, arms["unpatched"])
        out = {}
        for name, _, _ in self.arm_names():
            out.update(field_changes(base, fields(self.subject, arms[name]), name))
        return out
