"""Sampled episodes through procgen itself (the ground truth the exact chain is checked on).

Episodes run in parallel, one procgen environment each, sampling procgen actions from the
policy's full 15-way softmax. An episode ends when the mouse reaches the cheese (procgen
pays 10 and resets) or at the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from harness.behavior.forward import Runner
from harness.maze.codec import parse
from harness.maze.maze import Cell, Maze
from harness.maze.procgen_env import ProcgenPool, default_pool
from harness.maze.render import observe_uint8, to_tensor


@dataclass(frozen=True)
class SampledEpisodes:
    reached_cheese: np.ndarray  # (n,) bool, within the horizon
    steps: np.ndarray  # (n,) steps taken (horizon if the cheese was not reached)
    reached_region_first: np.ndarray  # (n,) bool: entered the region before the cheese
    horizon: int


def _mouse_cell(state: bytes, maze: Maze) -> Cell:
    st = parse(state)
    ent = st.entities[st.mouse_index]
    return maze.from_outer((int(ent["y"]), int(ent["x"])))


def sample_episodes(
    runner: Runner,
    maze: Maze,
    n: int,
    horizon: int,
    device: torch.device | str,
    seed: int = 0,
    region: set[Cell] | frozenset[Cell] = frozenset(),
    pool: ProcgenPool | None = None,
) -> SampledEpisodes:
    """Run ``n`` sampled episodes of ``maze`` from its mouse cell, at most ``horizon`` steps."""
    pool = pool or default_pool()
    gen = torch.Generator().manual_seed(seed)
    states = [maze.state_bytes()] * n
    obs = observe_uint8([maze] * n, pool)
    alive = np.ones(n, bool)
    reached = np.zeros(n, bool)
    in_region = np.zeros(n, bool)
    steps = np.full(n, horizon)
    owners = np.zeros(n, dtype=np.int64)
    if maze.mouse in region:
        in_region[:] = True
    for t in range(1, horizon + 1):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        logits = runner(to_tensor(obs[idx], device), owners[idx]).float().cpu()
        actions = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)[:, 0].numpy()
        new, rewards, _, new_obs = pool.step([states[i] for i in idx], actions.tolist())
        for j, i in enumerate(idx):
            if rewards[j] > 0:
                reached[i], alive[i], steps[i] = True, False, t
                continue
            states[i] = new[j]
            obs[i] = new_obs[j]
            if region and not in_region[i] and _mouse_cell(new[j], maze) in region:
                in_region[i] = True
    return SampledEpisodes(reached, steps, in_region, horizon)
