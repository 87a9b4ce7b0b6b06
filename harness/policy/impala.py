"""The interpretable IMPALA policy of Langosco et al.'s maze agents.

Parameter-compatible with train-procgen-pytorch's ``CategoricalPolicy(ImpalaModel)``: the
same ``state_dict`` keys (``embedder.block1.conv.weight``, ``embedder.fc.weight``,
``fc_policy.weight``, ``fc_value.weight``, ...) load unchanged. Unlike the original, every
operation -- ReLUs, the residual additions, the flatten -- is a module created in
``__init__``, so each has a name and can be hooked (labels are ``<module name>_out``).
The channel scale is an argument of the constructor (inferred from weights when loading);
there is no global mutable ``scale``.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.actions import NUM_ACTIONS

BASE_CHANNELS = (16, 32, 32)
HIDDEN = 256


class ResAdd(nn.Module):
    """``a + b`` as a module, so the residual sum has a hookable output."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.resadd = ResAdd()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.relu2(self.conv1(self.relu1(x))))
        return self.resadd(out, x)


class ImpalaBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.res1 = ResidualBlock(out_channels)
        self.res2 = ResidualBlock(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res2(self.res1(self.maxpool(self.conv(x))))


class ImpalaEmbedder(nn.Module):
    def __init__(self, in_channels: int = 3, scale: int = 1) -> None:
        super().__init__()
        c1, c2, c3 = (c * scale for c in BASE_CHANNELS)
        self.block1 = ImpalaBlock(in_channels, c1)
        self.block2 = ImpalaBlock(c1, c2)
        self.block3 = ImpalaBlock(c2, c3)
        self.relu3 = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c3 * 8 * 8, HIDDEN)
        self.relufc = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block3(self.block2(self.block1(x)))
        return self.relufc(self.fc(self.flatten(self.relu3(x))))


class ImpalaPolicy(nn.Module):
    """Observation (N, 3, 64, 64) float in [0, 1] -> (15 action logits, value)."""

    def __init__(self, scale: int = 1, num_actions: int = NUM_ACTIONS) -> None:
        super().__init__()
        if scale < 1:
            raise ValueError(f"channel scale must be a positive int, got {scale}")
        self.scale = scale
        self.embedder = ImpalaEmbedder(3, scale)
        self.fc_policy = nn.Linear(HIDDEN, num_actions)
        self.fc_value = nn.Linear(HIDDEN, 1)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.embedder(obs)
        return self.fc_policy(hidden), self.fc_value(hidden).squeeze(-1)

    @property
    def num_actions(self) -> int:
        return self.fc_policy.out_features

    def intervening(self, interventions):
        """``with policy.intervening([...]):`` -- see :func:`harness.hooks.intervening`."""
        from harness.hooks import intervening

        return intervening(self, interventions)
