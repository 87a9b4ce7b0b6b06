"""The only place that talks to procgen: level generation, batched rendering, stepping.

Creating procgen environments is slow and ``set_state`` needs exactly one state per
environment, so this module keeps a pool of multi-environment instances (one per
power-of-two size up to ``max_chunk``) and feeds them chunks of states. procgen aborts the
process on malformed state bytes, so callers either pass states this package built itself
or ask for validation (which parses them first and raises :class:`StateFormatError`).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from harness.maze.checks import as_index
from harness.maze.codec import parse

OBS_SIZE = 64
HUMAN_SIZE = 512
MAX_SEED = 2**31 - 1
#: Side of hard mode's world: the largest inner grid, and the range of outer cells.
WORLD_DIM = 25


def _make_env(num: int, start_level: int = 0, human: bool = False):
    # gym (imported by procgen) prints a deprecation banner on import; keep it off our output.
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        from procgen import ProcgenGym3Env
    return ProcgenGym3Env(
        num=num,
        env_name="maze",
        distribution_mode="hard",
        start_level=start_level,
        num_levels=1,
        rand_seed=0,
        # num_threads=0 makes creation ~100x slower (seen: 170 ms vs 1.3 ms per env).
        num_threads=1 if num == 1 else min(4, os.cpu_count() or 1),
        render_mode="rgb_array" if human else None,
    )


def check_seed(seed: int, what: str = "level seed") -> int:
    """``seed`` as a Python int in procgen's range (a ``TypeError`` for non-integers, which
    would otherwise be truncated to a different level, a ``ValueError`` outside the range)."""
    seed = as_index(seed, what)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(
            f"{what} {seed} is outside procgen's range 0..{MAX_SEED}: pass a seed in that range"
        )
    return seed


def level_state(seed: int) -> bytes:
    """The state bytes of the hard-mode maze level ``seed`` as procgen generates it."""
    # checked before the cache: it would map 1.0 or True onto level 1's entry
    return _level_state(check_seed(seed))


@lru_cache(maxsize=4096)
def _level_state(seed: int) -> bytes:
    env = _make_env(1, start_level=seed)
    try:
        return env.callmethod("get_state")[0]
    finally:
        env.close()


class ProcgenPool:
    """Reused multi-environment procgen instances for batched ``set_state`` + observe/step."""

    def __init__(self, max_chunk: int = 256, human: bool = False) -> None:
        if max_chunk < 1 or max_chunk & (max_chunk - 1):
            raise ValueError(f"max_chunk must be a power of two, got {max_chunk}")
        self.max_chunk = max_chunk
        self.human = human
        self._envs: dict[int, object] = {}

    def _env(self, size: int):
        if size not in self._envs:
            self._envs[size] = _make_env(size, human=self.human)
        return self._envs[size]

    def _chunks(self, n: int) -> list[tuple[int, int, int]]:
        """(start, stop, env size) covering ``n`` states; the last chunk is padded."""
        out = []
        start = 0
        while start < n:
            rest = n - start
            size = self.max_chunk if rest >= self.max_chunk else 1 << (rest - 1).bit_length()
            stop = min(n, start + size)
            out.append((start, stop, size))
            start = stop
        return out

    def _load(self, states: Sequence[bytes], start: int, stop: int, size: int):
        env = self._env(size)
        chunk = list(states[start:stop])
        chunk += [chunk[-1]] * (size - len(chunk))
        env.callmethod("set_state", chunk)
        return env

    def observe(self, states: Sequence[bytes], validate: bool = False) -> np.ndarray:
        """Agent observations (N, 64, 64, 3) uint8 of the given states."""
        if validate:
            for s in states:
                parse(s)
        out = np.empty((len(states), OBS_SIZE, OBS_SIZE, 3), dtype=np.uint8)
        for start, stop, size in self._chunks(len(states)):
            env = self._load(states, start, stop, size)
            _, obs, _ = env.observe()
            out[start:stop] = obs["rgb"][: stop - start]
        return out

    def human_views(self, states: Sequence[bytes], validate: bool = False) -> np.ndarray:
        """High-resolution (N, 512, 512, 3) uint8 renders, for plots."""
        if not self.human:
            raise RuntimeError("this pool was created without human rendering (human=True)")
        if validate:
            for s in states:
                parse(s)
        out = np.empty((len(states), HUMAN_SIZE, HUMAN_SIZE, 3), dtype=np.uint8)
        for start, stop, size in self._chunks(len(states)):
            env = self._load(states, start, stop, size)
            info = env.get_info()
            for i in range(stop - start):
                out[start + i] = info[i]["rgb"]
        return out

    def step(
        self, states: Sequence[bytes], actions: Sequence[int], validate: bool = False
    ) -> tuple[list[bytes], np.ndarray, np.ndarray, np.ndarray]:
        """Take one procgen action in each state.

        Returns the new states, the rewards, the ``first`` flags (True where the episode
        ended and procgen reset the level) and the new (N, 64, 64, 3) observations.
        """
        if len(actions) != len(states):
            raise ValueError(f"{len(actions)} actions for {len(states)} states")
        if validate:
            for s in states:
                parse(s)
        acts = np.asarray(actions, dtype=np.int32)
        if acts.size and (acts.min() < 0 or acts.max() > 14):
            raise ValueError("procgen actions are 0..14")
        new_states: list[bytes] = []
        rewards = np.empty(len(states), dtype=np.float32)
        firsts = np.empty(len(states), dtype=bool)
        obs_out = np.empty((len(states), OBS_SIZE, OBS_SIZE, 3), dtype=np.uint8)
        for start, stop, size in self._chunks(len(states)):
            env = self._load(states, start, stop, size)
            chunk_actions = np.full(size, 4, dtype=np.int32)
            chunk_actions[: stop - start] = acts[start:stop]
            env.act(chunk_actions)
            rew, obs, first = env.observe()
            obs_out[start:stop] = obs["rgb"][: stop - start]
            rewards[start:stop] = rew[: stop - start]
            firsts[start:stop] = first[: stop - start]
            new_states += env.callmethod("get_state")[: stop - start]
        return new_states, rewards, firsts, obs_out


_POOLS: dict[bool, ProcgenPool] = {}


def default_pool(human: bool = False) -> ProcgenPool:
    """The process-wide pool (one per process, so pytest-xdist workers each get their own)."""
    if human not in _POOLS:
        _POOLS[human] = ProcgenPool(max_chunk=64 if human else 256, human=human)
    return _POOLS[human]
