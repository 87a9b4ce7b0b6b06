"""The pixel facts the planted policies are built on: which colours mark cheese and mouse.

Measured on procgen's 64 x 64 maze renders (all 625 positions of a 25 x 25 world, the
backgrounds of 2,000 level seeds):

- The cheese sprite is drawn with exactly four colours, yellow (254, 231, 98), orange
  (253, 155, 37), brown (181, 112, 82) and dark (34, 32, 52), no blending. Orange occurs in
  some floor textures (lava: (255, 155, 37)) and brown and dark lie inside the cloud of
  background colours, so only **yellow** is separable from every background colour by a
  linear test -- and it is, with a wide margin. The yellow pixel is missing at about a third
  of the cells (the sprite is sampled at 2.56 px per cell): there the planted policies do not
  see the cheese. :func:`harness.policy.planted.cheese_channel_cells` lists which cells.
- The mouse is one or two light blue-grey pixels ((187, 203, 204), (199, 212, 212) and
  blends with the floor, plus pink (243, 185, 203)); a linear test on high blue separates
  them from every background colour. At a few positions procgen draws no mouse pixel at all.

A test is a weighted sum of a pixel's 0..255 levels with integer weights,
``k = w_r * R + w_g * G + w_b * B``, and fires when ``k >= threshold``. Because the weights
are integers, ``k`` is always a multiple of their gcd ``g``, so no colour lies strictly
between ``threshold - g`` and ``threshold``; the network's ramp rises inside that gap
(``ramp = (k - threshold + g / 2) * 4 / g`` is >= 2 or <= -2 for every possible colour) and
its clip to [0, 1] is exactly 0 or 1 -- also for the mouse pixels procgen blends with the floor.
Thresholds sit halfway between the target colours and the strongest background colour
(margins of about 1,900 for the cheese and 1,700 for the mouse, in units of k, where one
level of the most heavily weighted channel counts 100).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CHEESE_YELLOW = (254, 231, 98)
MOUSE_CORE = ((187, 203, 204), (199, 212, 212))
PIXELS_PER_MAP_CELL = 4  # 64 px -> 16 x 16 block-2 maps


@dataclass(frozen=True)
class ColourTest:
    """An integer-weighted colour sum and its threshold (see the module docstring)."""

    name: str
    weights: tuple[int, int, int]  # per 0..255 level of R, G, B
    threshold: int

    def __post_init__(self) -> None:
        if self.threshold % self.step:
            raise ValueError(f"threshold {self.threshold} is not a multiple of {self.step}")

    @property
    def step(self) -> int:
        """gcd of the weights: the spacing of attainable sums."""
        return math.gcd(*self.weights)

    def level_sum(self, obs_uint8: np.ndarray) -> np.ndarray:
        """``k`` of each pixel of (..., 3) uint8 images."""
        return np.asarray(obs_uint8, dtype=np.int64) @ np.asarray(self.weights, dtype=np.int64)

    def indicator(self, obs_uint8: np.ndarray) -> np.ndarray:
        """1.0 where the test fires, else 0.0: what the network computes per pixel."""
        return (self.level_sum(obs_uint8) >= self.threshold).astype(np.float64)

    def ramp_weights(self) -> tuple[tuple[float, float, float], float]:
        """Conv weights (per unit of RGB in [0, 1]) and bias of the network's ramp."""
        gain = 4.0 / self.step
        weights = tuple(255.0 * w * gain for w in self.weights)
        return weights, (self.step / 2 - self.threshold) * gain


def _halfway(name: str, weights: tuple[int, int, int], targets, background_max: int) -> ColourTest:
    """A test whose threshold is the attainable sum halfway between the weakest target
    colour and the strongest background colour."""
    lowest = min(int(np.dot(c, weights)) for c in targets)
    g = math.gcd(*weights)
    return ColourTest(name, weights, g * math.ceil((lowest + background_max) / 2 / g))


#: Fires on the cheese's yellow pixel only: yellow sums to 25,632, the strongest of the
#: 12,688 background colours of 2,000 levels to 21,820, mouse colours to at most 19,668.
CHEESE_TEST = _halfway("cheese yellow", (20, 100, -26), [CHEESE_YELLOW], 21820)
#: Fires on the mouse's blue-grey and pink pixels: its core colours sum to at least 25,764,
#: the strongest background colour to 22,404, cheese colours to at most 16,728.
MOUSE_TEST = _halfway("mouse blue-grey", (20, 8, 100), MOUSE_CORE, 22404)


def first_map_cell(mask: np.ndarray) -> tuple[int, int] | None:
    """The 16 x 16 map cell the planted network reports for a (64, 64) pixel mask.

    Max-pooling twice spreads a pixel at index p over map cells floor(p / 4) and
    ceil(p / 4); the network keeps the first cell in raster order, which is the map row of
    the top-most pixel and the map column of the left-most pixel within that map row.
    None when no pixel fires.
    """
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    map_rows = rows // PIXELS_PER_MAP_CELL
    top = int(map_rows.min())
    left = int(cols[map_rows == top].min()) // PIXELS_PER_MAP_CELL
    return (top, left)
