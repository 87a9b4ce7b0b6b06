"""Find the cheese-tracking channels of a new checkpoint and draft its profile.

Each channel at the layer is scored by CH1's statistic: over many mazes and cheese
placements, the share of placements at which the channel's positive peak sits at the
cheese's channel cell. Channels far above chance (and above the bulk of channels) are the
candidates; the draft lists them so that CH/RS claims can run, and a person confirms them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.experiments.channels import MIN_TRACKING_SIZE, channel_peak_hit_rates
from harness.experiments.subject import Subject
from harness.maze.streams import maze_stream, take


@dataclass(frozen=True)
class ChannelRanking:
    layer: str
    hit_rates: np.ndarray  # (channels,) mean hit rate over mazes
    chance: float
    mazes: int

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
    subject: Subject, mazes: int = 40, placements: int = 6, tolerance: int = 1, base_seed: int = 0
) -> ChannelRanking:
    sample = take(maze_stream(base_seed, subject.where(min_size=MIN_TRACKING_SIZE)), mazes)
    rates = channel_peak_hit_rates(subject, sample, placements, tolerance)
    return ChannelRanking(subject.layer, rates.mean(0), (2 * tolerance + 1) ** 2 / 256, mazes)


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
            f'name = "{name}"',
            f'description = "Draft: cheese channels found by their peak hit rate >= {min_rate}."',
            f'checkpoint_sha256 = ["{sha256}"]',
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
