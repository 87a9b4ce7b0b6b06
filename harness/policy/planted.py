"""Planted policies: scale-1 IMPALA weights built in code, whose mechanism is known exactly.

They are the ground truth of the claims suite: a claim that holds by construction must pass
on them, one that fails by construction must fail. ``docs/planted.md`` lists, per policy,
which CLAIMS.md claims are true, false or not decidable by construction, and why.

The mechanism (every weight not mentioned is zero; ``L`` = ``embedder.block2.res1.resadd_out``)

1. ``block1.conv`` applies two linear colour tests to each pixel (centre tap only; see
   :mod:`harness.policy.planted_pixels`): cheese yellow and mouse blue-grey, as ramps that
   are >= 2 where the test fires and <= -2 elsewhere, for every possible colour.
   ``block1.maxpool`` keeps each 3 x 3 window's maximum.
2. ``block1.res1``'s residual branch turns the pooled ramps into exact 0/1 indicators,
   ``clip(x, 0, 1) = relu(x) - relu(x - 1)``, written into two fresh channels (a nonlinearity
   is needed here and the residual branch is the only place the architecture has one before
   ``L``). ``block1.res2`` is an identity (branch zeroed).
3. ``block2.conv`` copies the indicators into the cheese channel ``K`` and the mouse channel
   ``M``; ``block2.maxpool`` takes them to 16 x 16. Max-pooling (3, 2, 1) twice copies a pixel
   at index p to map cells floor(p/4) *and* ceil(p/4), so ``block2.res1``'s branch keeps only
   the first fired cell in raster order (non-maximum suppression):
   ``relu(P(o) - P(o-up-left) - P(o-up) - P(o-up-right) - P(o-left))``. At ``L``, ``K`` is 1 at
   exactly one map cell when the cheese is visible and 0 everywhere else; ``M`` likewise for
   the mouse. All other channels of ``L`` are 0. So the cheese vector at ``L`` is exactly
   ``e_K,cell``.
4. ``block2.res2`` is an identity, except in ``saturating``: there its branch caps ``K`` at 1
   (``K - relu(K - 1)``), so adding the cheese vector (``K = 2``) changes nothing downstream.
5. ``block3.conv`` writes ``K`` and ``M`` each shifted by (0, 0), (0, 1), (1, 0), (1, 1) map
   cells into 4 channels; after ``block3.maxpool`` the 4 pooled 8 x 8 patterns of a single
   cell are linearly independent over all 256 cells, so ``fc`` reads the map row, map column
   and presence of the cheese and of the mouse *exactly* (its weights solve that 256 x 256
   linear system). ``block3.res1/res2`` are identities; ``relu3`` removes negative values (a
   subtracted vector cannot create a phantom cheese).
6. ``fc`` + ``relufc`` compute ``relu(dx)`` / ``relu(-dx)`` / ``relu(dy)`` / ``relu(-dy)`` of the
   cheese's map cell relative to the mouse's, gated to 0 when either is invisible, plus
   "cheese seen" and "mouse seen". ``fc_policy`` turns them into move logits
   ``gain * [left, down, up, right distances] + top_right_bias * [0, 0, 1, 1, 0]`` with a fixed
   NOOP logit (split over the 15 procgen actions so the 5-way softmax is exact);
   ``fc_value`` outputs "cheese seen".

Variants: ``cheese-seeker`` (default; linear in ``K``), ``saturating`` (K capped at 1 after
``L``), ``cheese-blind`` (``K`` is computed at ``L`` but nothing downstream reads it).

The *graded* family ``graded:gain=G,cap=C,bias=B,stop=S`` (any subset; defaults 1, none, 1,
0) turns the same mechanism's strength continuously: ``gain`` scales the cheese signal in the
head (0 is cheese-blind behaviour, 1 the cheese-seeker), ``cap`` in [1, 2] caps ``K`` after
``L`` (1 is ``saturating``: adding the cheese vector changes nothing; 2 or none changes it
fully), ``bias`` is the up/right habit, ``stop`` is added to the NOOP logit while no cheese
is seen (the habit gives way to standing still). Mazes supply the per-maze variation, so a
claim's population effect moves smoothly with the strength and can be set at its threshold
(``benchmarks/calibrate_claims.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType

import numpy as np
import torch
from torch import nn

from harness.actions import ACTION_TO_MOVE, Move
from harness.policy.impala import ImpalaPolicy
from harness.policy.planted_pixels import CHEESE_TEST, MOUSE_TEST, ColourTest, first_map_cell
from harness.policy.probs import logits_for_moves

LAYER = "embedder.block2.res1.resadd_out"
MAP_SIZE = 16

# block1 (16 channels, 32 x 32 after pooling)
_B1_CHEESE_RAMP, _B1_MOUSE_RAMP = 2, 5
_B1_CHEESE, _B1_MOUSE = 7, 12
# block2 (32 channels, 16 x 16): the channels of L
CHEESE_CHANNEL, MOUSE_CHANNEL = 11, 23
# block3 (32 channels): shifted copies, (d_row, d_col) in map cells
_SHIFTS = ((0, 0), (0, 1), (1, 0), (1, 1))
_B3_CHEESE = (4, 5, 6, 7)
_B3_MOUSE = (20, 21, 22, 23)
# fc hidden units
_H_RIGHT, _H_LEFT, _H_DOWN, _H_UP, _H_CHEESE_SEEN, _H_MOUSE_SEEN = range(6)
_GATE = float(MAP_SIZE)  # distances are < 16 map cells, so -16 per missing object gates to 0


class UnknownPlantedPolicyError(LookupError):
    """A planted policy name that does not exist."""

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class PlantedSpec:
    """What is known about a planted policy by construction (profiles are built from it)."""

    name: str
    summary: str
    layer: str = LAYER
    cheese_channels: tuple[int, ...] = (CHEESE_CHANNEL,)
    mouse_channel: int = MOUSE_CHANNEL
    cheese_value: float = 1.0  # K at the cheese's map cell
    cheese_cap: float | None = None  # K is capped at this value after L (saturating)
    reads_cheese: bool = True  # whether anything after L depends on K
    cheese_gain: float = 1.0  # logit per map cell of distance toward the cheese
    top_right_bias: float = 1.0  # constant logit added to UP and RIGHT
    noop_logit: float = -2.0
    #: Added to the NOOP logit when no cheese is seen: the habit gives way to standing still
    #: (graded family; it moves what subtracting the cheese vector removes, CV1).
    blind_stop: float = 0.0
    scale: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


_SPECS: dict[str, PlantedSpec] = {
    spec.name: spec
    for spec in (
        PlantedSpec(
            "cheese-seeker",
            "moves toward the cheese's map cell (linear in channel K) plus a constant "
            "up/right preference",
        ),
        PlantedSpec(
            "saturating",
            "as cheese-seeker, but K is capped at 1 after L: adding the cheese vector "
            "changes nothing, subtracting it hides the cheese",
            cheese_cap=1.0,
        ),
        PlantedSpec(
            "cheese-blind",
            "K tracks the cheese at L but nothing downstream reads it: a constant up/right policy",
            reads_cheese=False,
        ),
    )
}
DEFAULT = "cheese-seeker"
GRADED = "graded"
_GRADED_KEYS = ("gain", "cap", "bias", "stop")


def available_planted() -> tuple[str, ...]:
    """Names accepted by :func:`planted` (and by ``--checkpoint planted:<name>``)."""
    return tuple(_SPECS)


def planted_spec(name: str = DEFAULT) -> PlantedSpec:
    if name == GRADED or name.startswith(f"{GRADED}:"):
        return _graded_spec(name.partition(":")[2])
    try:
        return _SPECS[name]
    except KeyError:
        raise UnknownPlantedPolicyError(
            f"unknown planted policy {name!r}; available: {', '.join(_SPECS)}, "
            f"or {GRADED}:gain=G,cap=C,bias=B"
        ) from None


def graded_name(
    gain: float = 1.0, cap: float | None = None, bias: float = 1.0, stop: float = 0.0
) -> str:
    """The canonical name of a graded planted policy (``planted:<name>`` loads it)."""
    parts = [f"gain={float(gain)!r}"]
    if cap is not None:
        parts.append(f"cap={float(cap)!r}")
    if bias != 1.0:
        parts.append(f"bias={float(bias)!r}")
    if stop != 0.0:
        parts.append(f"stop={float(stop)!r}")
    return f"{GRADED}:{','.join(parts)}"


def _graded_spec(arguments: str) -> PlantedSpec:
    values: dict[str, float] = {}
    for item in filter(None, arguments.split(",")):
        key, _, text = item.partition("=")
        if key not in _GRADED_KEYS:
            raise UnknownPlantedPolicyError(
                f"graded planted policy: unknown parameter {key!r} "
                f"(known: {', '.join(_GRADED_KEYS)})"
            )
        try:
            values[key] = float(text)
        except ValueError:
            raise UnknownPlantedPolicyError(
                f"graded planted policy: {key} must be a number, got {text!r}"
            ) from None
        if not np.isfinite(values[key]):
            raise UnknownPlantedPolicyError(f"graded planted policy: {key} must be finite")
    gain, cap, bias = values.get("gain", 1.0), values.get("cap"), values.get("bias", 1.0)
    stop = values.get("stop", 0.0)
    if gain < 0 or stop < 0:
        raise UnknownPlantedPolicyError(
            f"graded planted policy: gain and stop must be >= 0, got {gain}, {stop}"
        )
    if cap is not None and not 1.0 <= cap <= 2.0:
        raise UnknownPlantedPolicyError(f"graded planted policy: cap must lie in [1, 2], got {cap}")
    return PlantedSpec(
        graded_name(gain, cap, bias, stop),
        f"graded: cheese gain {gain:g}, K cap {cap if cap is not None else 'none'}, "
        f"up/right bias {bias:g}, stop without cheese {stop:g}",
        cheese_gain=gain,
        cheese_cap=cap,
        top_right_bias=bias,
        blind_stop=stop,
    )


def planted(name: str = DEFAULT, device: str | torch.device = "cpu") -> ImpalaPolicy:
    """The planted policy ``name`` as an eval-mode float32 :class:`ImpalaPolicy` on ``device``."""
    policy = ImpalaPolicy(scale=1)
    policy.load_state_dict(planted_state_dict(name))
    return policy.to(device, memory_format=torch.channels_last).eval()


def planted_state_dict(name: str = DEFAULT) -> dict[str, torch.Tensor]:
    """The weights of planted policy ``name`` (a fresh copy; built once per process)."""
    return {k: v.clone() for k, v in _built_state(planted_spec(name).name).items()}


@functools.cache
def _built_state(name: str) -> dict[str, torch.Tensor]:
    return _build(planted_spec(name)).state_dict()


# --------------------------------------------------------------------------- construction
def _build(spec: PlantedSpec) -> ImpalaPolicy:
    policy = ImpalaPolicy(scale=1)
    with torch.no_grad():
        for p in policy.parameters():
            p.zero_()
        e = policy.embedder
        _colour_ramps(e.block1.conv, {_B1_CHEESE_RAMP: CHEESE_TEST, _B1_MOUSE_RAMP: MOUSE_TEST})
        _clip_to_indicator(e.block1.res1, {_B1_CHEESE_RAMP: _B1_CHEESE, _B1_MOUSE_RAMP: _B1_MOUSE})
        _copy_channels(e.block2.conv, {_B1_CHEESE: CHEESE_CHANNEL, _B1_MOUSE: MOUSE_CHANNEL})
        _first_cell_only(e.block2.res1, (CHEESE_CHANNEL, MOUSE_CHANNEL))
        if spec.cheese_cap is not None:
            _cap(e.block2.res2, CHEESE_CHANNEL, spec.cheese_cap)
        sources = {MOUSE_CHANNEL: _B3_MOUSE}
        if spec.reads_cheese:
            sources[CHEESE_CHANNEL] = _B3_CHEESE
        _shifted_copies(e.block3.conv, sources)
        _relative_position_features(policy)
        _move_head(policy, spec)
    return policy


def _centre(conv: nn.Conv2d, out_ch: int, in_ch: int, weight: float) -> None:
    conv.weight[out_ch, in_ch, 1, 1] = weight


def _colour_ramps(conv: nn.Conv2d, tests: dict[int, ColourTest]) -> None:
    """Channel ch = its colour test's ramp, per pixel (>= 2 where it fires, <= -2 elsewhere)."""
    for ch, test in tests.items():
        weights, bias = test.ramp_weights()
        for rgb, w in enumerate(weights):
            _centre(conv, ch, rgb, w)
        conv.bias[ch] = bias


def _clip_to_indicator(block: nn.Module, sources: dict[int, int]) -> None:
    """Residual branch writing clip(x[src], 0, 1) into the (zero) channel dst."""
    for k, (src, dst) in enumerate(sources.items()):
        whole, minus_one = 2 * k, 2 * k + 1
        _centre(block.conv1, whole, src, 1.0)  # relu1 already dropped negatives
        _centre(block.conv1, minus_one, src, 1.0)
        block.conv1.bias[minus_one] = -1.0
        _centre(block.conv2, dst, whole, 1.0)
        _centre(block.conv2, dst, minus_one, -1.0)


def _copy_channels(conv: nn.Conv2d, mapping: dict[int, int]) -> None:
    for src, dst in mapping.items():
        _centre(conv, dst, src, 1.0)


def _first_cell_only(block: nn.Module, channels: tuple[int, ...]) -> None:
    """Residual branch keeping, per channel, only fired cells with no fired cell before them
    in raster order among their neighbours (up-left, up, up-right, left).

    Input maps are 0/1; the branch adds ``relu(t) - x`` with
    ``t = x - x[up-left] - x[up] - x[up-right] - x[left]``.
    """
    for k, ch in enumerate(channels):
        t, keep = 2 * k, 2 * k + 1
        w = block.conv1.weight
        w[t, ch] = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
        _centre(block.conv1, keep, ch, 1.0)
        _centre(block.conv2, ch, t, 1.0)
        _centre(block.conv2, ch, keep, -1.0)


def _cap(block: nn.Module, channel: int, cap: float) -> None:
    """Residual branch ``-relu(x - cap)``: x becomes min(x, cap) for x >= 0."""
    _centre(block.conv1, 0, channel, 1.0)
    block.conv1.bias[0] = -cap
    _centre(block.conv2, channel, 0, -1.0)


def _shifted_copies(conv: nn.Conv2d, sources: dict[int, tuple[int, ...]]) -> None:
    """Output channel ``dst[i]`` at map cell o = input at o - _SHIFTS[i] (zero outside)."""
    for src, dsts in sources.items():
        for dst, (dr, dc) in zip(dsts, _SHIFTS, strict=True):
            conv.weight[dst, src, 1 - dr, 1 - dc] = 1.0


def _pattern_readout(policy: ImpalaPolicy, src_channel: int) -> torch.Tensor:
    """(2048, 3) weights reading (map row, map col, presence) of a one-cell map in
    ``src_channel`` of ``L`` from the flattened block-3 output. Exact: solved on all 256 cells.
    All zero when block 3 does not read the channel."""
    e = policy.embedder
    onehots = torch.zeros(MAP_SIZE * MAP_SIZE, e.block2.conv.out_channels, MAP_SIZE, MAP_SIZE)
    cells = torch.cartesian_prod(torch.arange(MAP_SIZE), torch.arange(MAP_SIZE))
    onehots[torch.arange(len(cells)), src_channel, cells[:, 0], cells[:, 1]] = 1.0
    downstream = nn.Sequential(e.block2.res2, e.block3, e.relu3, e.flatten)
    patterns = downstream(onehots).double()
    if not patterns.any():
        return torch.zeros(patterns.shape[1], 3)
    targets = torch.cat([cells.double(), torch.ones(len(cells), 1, dtype=torch.double)], 1)
    # The solution is integral; rounding makes the weights identical on every machine and
    # the float32 read-out exact.
    # (+ 0.0 turns the -0.0 that tiny negative residuals round to into 0.0: which zeros come
    # out signed depends on the BLAS thread count.)
    solution = torch.linalg.lstsq(patterns, targets, driver="gelsd").solution.round() + 0.0
    if not torch.equal(patterns @ solution, targets):
        raise AssertionError("block-3 patterns do not determine the map cell")  # construction bug
    return solution.float()


def _relative_position_features(policy: ImpalaPolicy) -> None:
    cheese = _pattern_readout(policy, CHEESE_CHANNEL)
    mouse = _pattern_readout(policy, MOUSE_CHANNEL)
    row, col, seen = 0, 1, 2
    gate = _GATE * (cheese[:, seen] + mouse[:, seen])
    fc = policy.embedder.fc
    fc.weight[_H_RIGHT] = cheese[:, col] - mouse[:, col] + gate
    fc.weight[_H_LEFT] = mouse[:, col] - cheese[:, col] + gate
    fc.weight[_H_DOWN] = cheese[:, row] - mouse[:, row] + gate
    fc.weight[_H_UP] = mouse[:, row] - cheese[:, row] + gate
    for h in (_H_RIGHT, _H_LEFT, _H_DOWN, _H_UP):
        fc.bias[h] = -2 * _GATE
    fc.weight[_H_CHEESE_SEEN] = cheese[:, seen]
    fc.weight[_H_MOUSE_SEEN] = mouse[:, seen]


def _move_head(policy: ImpalaPolicy, spec: PlantedSpec) -> None:
    move_weight = torch.zeros(len(Move), policy.fc_policy.in_features)
    move_bias = torch.zeros(len(Move))
    for move, h in ((Move.LEFT, _H_LEFT), (Move.DOWN, _H_DOWN), (Move.UP, _H_UP)):
        move_weight[move, h] = spec.cheese_gain
    move_weight[Move.RIGHT, _H_RIGHT] = spec.cheese_gain
    move_bias[Move.UP] = move_bias[Move.RIGHT] = spec.top_right_bias
    move_bias[Move.NOOP] = spec.noop_logit + spec.blind_stop
    move_weight[Move.NOOP, _H_CHEESE_SEEN] = -spec.blind_stop
    # each procgen action gets its move's logit; the bias also carries -log(group size) so
    # that the summed group probabilities are exactly softmax(move logits)
    group = torch.as_tensor(ACTION_TO_MOVE, dtype=torch.long)
    policy.fc_policy.weight.copy_(move_weight.index_select(0, group))
    policy.fc_policy.bias.copy_(logits_for_moves(move_bias))
    policy.fc_value.weight[0, _H_CHEESE_SEEN] = 1.0


# --------------------------------------------------------------------------- geometry
@functools.cache
def cheese_channel_cells() -> Mapping[tuple[int, int], tuple[int, int] | None]:
    """Outer cell (row, col) of the cheese -> the map cell where K fires (None: invisible).

    Read off procgen renders of an open 25 x 25 maze with the cheese on every cell (the
    sprite depends only on the cell, not on the level's theme). It equals CLAIMS.md's
    grid -> channel cell map (:func:`harness.policy.geometry.channel_cell`) where the yellow
    pixel is at the cell's centre, and is one map cell off elsewhere.
    """
    return _first_cells(CHEESE_TEST, cheese=True)


@functools.cache
def mouse_channel_cells(
    reflected: bool = False,
) -> Mapping[tuple[int, int], tuple[int, int] | None]:
    """Outer cell of the mouse -> the map cell where M fires (None: procgen draws no mouse
    pixel there), on the default template's floor (blended pixels vary with the floor), for
    the sprite facing left (procgen's start) or mirrored (``reflected``, after moving right)."""
    return _first_cells(MOUSE_TEST, cheese=False, reflected=reflected)


def _first_cells(test: ColourTest, cheese: bool, reflected: bool = False) -> Mapping:
    from harness.maze.maze import Maze
    from harness.maze.render import observe_uint8

    world = 25
    open_grid = np.zeros((world, world), dtype=bool)
    cells = [(r, c) for r in range(world) for c in range(world)]
    if cheese:
        mice = [(0, 0) if cell != (0, 0) else (world - 1, world - 1) for cell in cells]
        mazes = [Maze.from_grid(open_grid, cell, m) for cell, m in zip(cells, mice, strict=True)]
    else:
        mazes = [Maze.from_grid(open_grid, None).with_mouse(c, reflected) for c in cells]
    images = observe_uint8(mazes)
    return MappingProxyType(
        {
            cell: first_map_cell(test.indicator(image) > 0)
            for cell, image in zip(cells, images, strict=True)
        }
    )
