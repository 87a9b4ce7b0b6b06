"""Gradient ascent on per-cell wall logits through the relaxed render ("dreaming").

The policy's weights stay fixed; the input varies. Logits start at the starting maze
(+/- ``init_logit``), Adam climbs the objective of the relaxed observation, and the result is
thresholded, repaired and rendered by procgen so the policy is measured on a real
observation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from harness.dream.discretize import discretize
from harness.dream.objective import Heading, policy_logits
from harness.dream.relax import Relaxation, relax
from harness.maze.maze import Maze
from harness.maze.render import observations


@dataclass(frozen=True)
class DreamSettings:
    steps: int = 60
    lr: float = 0.3
    init_logit: float = 2.0

    def __post_init__(self) -> None:
        if int(self.steps) < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not self.init_logit > 0:
            raise ValueError(f"init_logit must be > 0, got {self.init_logit}")

    def describe(self) -> str:
        """How a maze is dreamed, in words (for reports)."""
        return (
            f"dreamed walls: Adam on sigmoid wall logits, {self.steps} steps, lr {self.lr:g}; "
            "threshold 0.5, repair connectivity, procgen render"
        )


@dataclass(frozen=True, eq=False)
class Dream:
    """One dream: the starting and dreamed mazes and the objective along the way."""

    start: Maze
    dreamed: Maze
    objective: Heading
    wall_probs: np.ndarray  # relaxed walls at the end of the ascent
    trace: np.ndarray  # relaxed objective at each step (before the step's update)
    relaxed: float  # relaxed objective at the final soft walls
    start_real: float  # objective on procgen's render of the starting maze
    dreamed_real: float  # objective on procgen's render of the dreamed maze
    repaired: int  # cells the connectivity repair opened


def objective_on_mazes(
    policy: torch.nn.Module, objective: Heading, mazes: list[Maze]
) -> np.ndarray:
    """The objective on procgen's renders of ``mazes`` (mouse where each maze has it)."""
    device = next(policy.parameters()).device
    with torch.inference_mode():
        return objective(policy_logits(policy, observations(mazes, device))).cpu().numpy()


def ascend(
    policy: torch.nn.Module,
    relaxation: Relaxation,
    objective: Heading,
    start_walls: np.ndarray,
    settings: DreamSettings,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Adam on the wall logits; returns (final wall probabilities, trace, final objective)."""
    device = next(policy.parameters()).device
    # Claims may run under inference mode; the ascent needs autograd (for the input only).
    with torch.inference_mode(False), torch.enable_grad():
        relaxation = relaxation.detached()
        sign = np.where(np.asarray(start_walls, dtype=bool), 1.0, -1.0)
        logits = torch.tensor(sign * settings.init_logit, dtype=torch.float32, device=device)
        logits.requires_grad_(True)
        opt = torch.optim.Adam([logits], lr=settings.lr)
        trace = []
        for _ in range(int(settings.steps)):
            obs = relaxation.render(torch.sigmoid(logits)[None])
            value = objective(policy_logits(policy, obs)).sum()
            trace.append(value.detach())  # read once at the end: no host sync per step
            (grad,) = torch.autograd.grad(-value, logits)
            opt.zero_grad()
            logits.grad = grad
            opt.step()
        with torch.no_grad():
            probs = torch.sigmoid(logits)
            final = float(objective(policy_logits(policy, relaxation.render(probs[None])))[0])
        trace_host = torch.stack(trace).cpu().numpy().astype(np.float64)
    return probs.cpu().numpy().astype(np.float64), trace_host, final


def dream(
    policy: torch.nn.Module,
    start: Maze,
    objective: Heading,
    settings: DreamSettings | None = None,
) -> Dream:
    """Dream walls that raise ``objective`` from ``start`` and measure them on procgen."""
    settings = settings or DreamSettings()
    objective.check(start)
    relaxation = relax(start, fixed=[objective.target])
    probs, trace, final = ascend(policy, relaxation, objective, start.walls, settings)
    dreamed, opened = discretize(start, probs, keep_open=[objective.target])
    before, after = objective_on_mazes(policy, objective, [start, dreamed])
    return Dream(
        start, dreamed, objective, probs, trace, final, float(before), float(after), opened
    )
