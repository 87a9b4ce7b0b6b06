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

A test is ``score = w . rgb + b`` on RGB in [0, 1]; the network's indicator is the ramp
``clip(2 * (score + 5), 0, 1)``: 1 from score -4.5 up, 0 from -5 down. Target colours score
about 2 or more, every background colour below -11, so the ramp's fractional band is far
from both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHEESE_YELLOW = (254, 231, 98)
MOUSE_CORE = ((187, 203, 204), (199, 212, 212))
RAMP_ZERO = -5.0  # score at which the indicator starts to rise
RAMP_SLOPE = 2.0  # indicator = clip(RAMP_SLOPE * (score - RAMP_ZERO), 0, 1)
PIXELS_PER_MAP_CELL = 4  # 64 px -> 16 x 16 block-2 maps


@dataclass(frozen=True)
class ColourTest:
    """A linear colour score and the indicator the planted network computes from it."""

    name: str
    weights: tuple[float, float, float]  # per unit of R, G, B in [0, 1]
    bias: float

    def score(self, obs_uint8: np.ndarray) -> np.ndarray:
        """Score of each pixel of (..., 3) uint8 images."""
        rgb = np.asarray(obs_uint8, dtype=np.float64) / 255.0
        return rgb @ np.asarray(self.weights) + self.bias

    def indicator(self, obs_uint8: np.ndarray) -> np.ndarray:
        """The network's per-pixel indicator (before pooling), in float64."""
        return np.clip(RAMP_SLOPE * (self.score(obs_uint8) - RAMP_ZERO), 0.0, 1.0)


def _test_scoring_two_at(name: str, weights: tuple[float, float, float], colours) -> ColourTest:
    """A test with the given direction whose weakest target colour scores exactly 2."""
    w = np.asarray(weights)
    lowest = min(float(np.asarray(c) / 255.0 @ w) for c in colours)
    return ColourTest(name, weights, 2.0 - lowest)


#: Fires on the cheese's yellow pixel only (background max score about -12.9, mouse -21).
CHEESE_TEST = _test_scoring_two_at("cheese yellow", (20.0, 100.0, -26.0), [CHEESE_YELLOW])
#: Fires on the mouse's blue-grey and pink pixels (background max score about -11.2).
MOUSE_TEST = _test_scoring_two_at("mouse blue-grey", (20.0, 8.0, 100.0), MOUSE_CORE)


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
