"""Find the cheese-tracking channels of a new checkpoint and draft its profile.

Each channel at the layer is scored by CH1's statistic: over many mazes and cheese
placements, the share of placements at which the channel's positive peak sits at the
cheese's channel cell. Channels far above chance (and above the bulk of channels) are the
candidates; the draft lists them so that CH/RS claims can run, and a person confirms them.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import numpy as np

from harness.experiments.channels import MIN_TRACKING_SIZE, channel_peak_hit_rates
from harness.experiments.subject import Subject
from harness.maze.seed_ranges import DISCOVERY_BASE_SEED, SeedRange
from harness.maze.streams import MazeFilter, maze_stream, take
from harness.profiles import Profile


@dataclass(frozen=True)
class ChannelRanking:
    layer: str
    hit_rates: np.ndarray  # (channels,) mean hit rate over mazes
    chance: float
    mazes: int
    seeds: tuple[int, ...] = ()
    base_seed: int = DISCOVERY_BASE_SEED
    placements: int = 6
    tolerance: int = 1
    min_size: int = MIN_TRACKING_SIZE

    @property
    def seed_range(self) -> SeedRange:
        last = max(self.seeds, default=self.base_seed)
        return SeedRange(self.base_seed, last, "cheese-channel discovery")

    def ranked(self) -> list[tuple[int, float]]:
        order = np.argsort(-self.hit_rates, kind="stable")
        return [(int(c), float(self.hit_rates[c])) for c in order]

    def cheese_channels(self, min_rate: float = 0.3) -> list[int]:
        """Channels whose hit rate reaches ``min_rate`` (at least 8x chance at tolerance 1)."""
        return sorted(c for c, r in self.ranked() if r >= min_rate)

    def control_channels(self, k: int = 11) -> list[int]:
        """The ``k`` channels that track the cheese least (controls for RS2)."""
        return sorted(c for c, _ in self.ranked()[-k:])


def rank_channels(
    subject: Subject,
    mazes: int = 40,
    placements: int = 6,
    tolerance: int = 1,
    base_seed: int = DISCOVERY_BASE_SEED,
) -> ChannelRanking:
    """Hit rates on ``mazes`` mazes from ``base_seed`` (by default a range no claim's default
    stream reaches, so the channels are confirmed on other mazes than they were chosen on)."""
    sample = take(maze_stream(base_seed, subject.where(min_size=MIN_TRACKING_SIZE)), mazes)
    rates = channel_peak_hit_rates(subject, sample, placements, tolerance)
    return ChannelRanking(
        subject.layer,
        rates.mean(0),
        (2 * tolerance + 1) ** 2 / 256,
        mazes,
        seeds=tuple(int(m.seed) for m in sample if m.seed is not None),
        base_seed=base_seed,
        placements=placements,
        tolerance=tolerance,
        min_size=max(subject.min_size, MIN_TRACKING_SIZE),
    )


def discovery_seeds(profile: Profile, subject: Subject) -> SeedRange | None:
    """The seeds the profile's channels were selected on (None: the profile does not say).

    A ``[discovery]`` table without ``last_seed`` is resolved by replaying the discovery
    stream (same base seed, count and size filter)."""
    d = profile.discovery
    if d is None:
        return None
    what = f"cheese-channel discovery of profile {profile.name!r}"
    if d.last_seed is not None:
        return SeedRange(d.base_seed, d.last_seed, what)
    where = subject.where(min_size=d.min_size or MIN_TRACKING_SIZE)
    return SeedRange(d.base_seed, _last_seed(d.base_seed, d.mazes, where), what)


@functools.lru_cache(maxsize=16)
def _last_seed(base_seed: int, mazes: int, where: MazeFilter) -> int:
    sample = take(maze_stream(base_seed, where), mazes)
    return int(sample[-1].seed) if sample else base_seed


def profile_draft(name: str, sha256: str, ranking: ChannelRanking, min_rate: float) -> str:
    cheese = ranking.cheese_channels(min_rate)
    # single-channel claims (CH2/3/5, RS3) take the channel that tracks the cheese best
    best = [ranking.ranked()[0][0]] if cheese else []
    top = ", ".join(f"{c}: {r:.2f}" for c, r in ranking.ranked()[:15])
    return "\n".join(
        [
            "# Draft written by `python -m harness discover-channels`: confirm before trusting.",
            f"# Hit rates (share of {ranking.mazes} mazes x cheese placements where the channel's",
            f"# positive peak is at the cheese; chance {ranking.chance:.3f}), best first: {top}",
            "",
            "[profile]",
            f"name = {json.dumps(name)}",  # a JSON string is a valid TOML basic string
            f'description = "Draft: cheese channels found by their peak hit rate >= {min_rate}."',
            f'checkpoint_sha256 = ["{sha256}"]',
            "",
            "[discovery]",
            "# the mazes the channels were chosen on; claims testing them refuse these seeds",
            f"base_seed = {ranking.base_seed}",
            f"mazes = {ranking.mazes}",
            f"last_seed = {ranking.seed_range.last}",
            f"min_size = {ranking.min_size}",
            f"placements = {ranking.placements}",
            f"tolerance = {ranking.tolerance}",
            f"min_rate = {min_rate}",
            "",
            "[model]",
            f'layer = "{ranking.layer}"',
            f"cheese_channels = {cheese}",
            f"effective_channels = {cheese}",
            f"non_cheese_channels = {ranking.control_channels()}",
            "",
            "[shared.retargeting]",
            f"channels = {best}",
            "",
            "[claims.CH2]",
            f"channels = {best}",
            "",
            "[claims.CH5]",
            f"channels = {best}",
            "",
            "[claims.RS3]",
            f"channels = {[*best, *ranking.control_channels(1)]}",
            "",
        ]
    )
