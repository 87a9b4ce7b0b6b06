"""One entry point from a ``--checkpoint`` value to a loaded policy.

``default`` is the bundled behaviour-cloned policy (``harness/checkpoints/``) when it is
installed, else the default planted policy; ``planted`` and ``planted:<name>`` give a
planted policy (:mod:`harness.policy.planted`); anything else is a checkpoint path.
Planted policies are identified in reports by the sha256 of their canonical state dict,
like in-memory weights.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from harness.policy.checkpoint import LoadedPolicy, PolicyInfo, load_policy, state_dict_sha256
from harness.policy.numerics import STRICT, prepare_device
from harness.policy.planted import DEFAULT, planted, planted_spec, planted_state_dict

PLANTED_PREFIX = "planted"
DEFAULT_SPEC = "default"
#: The bundled policy (trained by ``python -m harness train``; see its training card).
BUNDLED_CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "maze-bc-default.pth"


def resolve_spec(spec: str | os.PathLike) -> str | os.PathLike:
    """``default`` -> the bundled checkpoint if present, else ``planted``; others unchanged."""
    if str(spec) != DEFAULT_SPEC:
        return spec
    return BUNDLED_CHECKPOINT if BUNDLED_CHECKPOINT.is_file() else PLANTED_PREFIX


def is_planted(spec: str | os.PathLike) -> bool:
    s = str(spec)
    return s == PLANTED_PREFIX or s.startswith(PLANTED_PREFIX + ":")


def load_planted(
    name: str = DEFAULT, device: str | torch.device = "auto", numerics: str = STRICT
) -> LoadedPolicy:
    """A planted policy with its :class:`PolicyInfo` (``extra`` holds its :class:`PlantedSpec`)."""
    spec = planted_spec(name)
    dev, arithmetic = prepare_device(device, numerics)
    info = PolicyInfo(
        sha256=state_dict_sha256(planted_state_dict(spec.name)),
        scale=spec.scale,
        source=f"{PLANTED_PREFIX}:{spec.name}",
        kind="planted",
        device=str(dev),
        extra={"planted": spec},
        numerics=arithmetic,
    )
    return LoadedPolicy(planted(spec.name, dev), info)


def open_policy(
    spec: str | os.PathLike, device: str | torch.device = "auto", numerics: str = STRICT
) -> LoadedPolicy:
    """``default`` | ``planted`` | ``planted:<name>`` | a path -> :class:`LoadedPolicy`."""
    spec = resolve_spec(spec)
    if is_planted(spec):
        name = str(spec).partition(":")[2] or DEFAULT
        return load_planted(name, device, numerics)
    return load_policy(spec, device, numerics=numerics)
