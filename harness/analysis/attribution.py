"""Integrated-gradients attribution (captum) of one policy output to a layer or the pixels.

The output is a 5-way move probability (e.g. P(the move toward the cheese) with the mouse on
the decision square) or the value head. For a layer, the integral runs over the layer's
activations from a baseline (zeros, or e.g. the same maze without the cheese) to the actual
ones, with everything upstream held fixed: the attribution says which activations the output
depends on, and by completeness they sum to output(actual) - output(baseline).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from captum.attr import IntegratedGradients
from torch import nn

from harness.hooks import SUFFIX, resolve_label
from harness.policy.probs import probs5

VALUE = "value"

#: A 5-way move index per row, or VALUE for the value head.
Target = Sequence[int] | np.ndarray | torch.Tensor | str


def _head(target: Target, n: int, device: torch.device) -> tuple[Callable, torch.Tensor | int]:
    """(function of the policy output -> (N, m) tensor, captum target on ``device``: captum
    gathers the output with it, and CUDA refuses a CPU index into a GPU tensor)."""
    if isinstance(target, str):
        if target != VALUE:
            raise ValueError(f"target is a move index per row or {VALUE!r}, got {target!r}")
        return (lambda out: out[1].reshape(-1, 1)), 0
    t = torch.as_tensor(np.asarray(target), dtype=torch.long).flatten()
    if t.numel() != n:
        raise ValueError(f"{t.numel()} targets for {n} observations")
    if ((t < 0) | (t > 4)).any():
        raise ValueError("move targets are 5-way move indices 0..4 (LEFT, DOWN, UP, RIGHT, NOOP)")
    return (lambda out: probs5(out[0])), t.to(device)


def _module(policy: nn.Module, layer: str) -> nn.Module:
    label = resolve_label(policy, layer)
    return dict(policy.named_modules())[label.removesuffix(SUFFIX)]


def layer_activations(policy: nn.Module, obs: torch.Tensor, layer: str) -> torch.Tensor:
    from harness.hooks import run_with_cache

    label = resolve_label(policy, layer)
    return run_with_cache(policy, obs, [label]).cache[label].detach().clone()


def layer_attribution(
    policy: nn.Module,
    obs: torch.Tensor,
    layer: str,
    target: Target,
    baseline: torch.Tensor | None = None,
    steps: int = 32,
    internal_batch_size: int = 512,
) -> torch.Tensor:
    """(N, *layer shape) integrated gradients of the output w.r.t. the layer's activations,
    from ``baseline`` (zeros by default; per example or broadcast) to the actual activations."""
    module = _module(policy, layer)
    acts = layer_activations(policy, obs, layer)
    base = torch.zeros_like(acts) if baseline is None else baseline.to(acts).expand_as(acts)
    head, tgt = _head(target, len(obs), acts.device)

    def forward(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        handle = module.register_forward_hook(lambda _m, _i, _o: a)
        try:
            return head(policy(x))
        finally:
            handle.remove()

    ig = IntegratedGradients(forward)
    with torch.enable_grad():
        out = ig.attribute(
            acts,
            baselines=base.contiguous(),
            target=tgt,
            additional_forward_args=(obs,),
            n_steps=steps,
            internal_batch_size=internal_batch_size,
        )
    return out.detach()


def pixel_attribution(
    policy: nn.Module,
    obs: torch.Tensor,
    target: Target,
    baseline: torch.Tensor | None = None,
    steps: int = 32,
    internal_batch_size: int = 256,
) -> torch.Tensor:
    """(N, 3, 64, 64) integrated gradients w.r.t. the input pixels (baseline: black)."""
    head, tgt = _head(target, len(obs), obs.device)
    ig = IntegratedGradients(lambda x: head(policy(x)))
    base = torch.zeros_like(obs) if baseline is None else baseline.to(obs).expand_as(obs)
    with torch.enable_grad():
        out = ig.attribute(
            obs.clone(),
            baselines=base.contiguous(),
            target=tgt,
            n_steps=steps,
            internal_batch_size=internal_batch_size,
        )
    return out.detach()


def spatial_map(attr: torch.Tensor, map_size: int | None = None) -> torch.Tensor:
    """(N, C, H, W) attribution -> (N, H', W') summed over channels, and over square blocks
    when ``map_size`` is given (pixels -> 16 x 16 channel cells)."""
    m = attr.sum(1)
    if map_size is not None and m.shape[-1] != map_size:
        f = m.shape[-1] // map_size
        m = m.reshape(m.shape[0], map_size, f, map_size, f).sum((2, 4))
    return m


def onto_directions(attr: torch.Tensor, directions: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) attribution read along (k, C) channel-space directions -> (N, k, H, W)."""
    d = torch.as_tensor(np.asarray(directions), dtype=attr.dtype, device=attr.device)
    if d.ndim != 2 or d.shape[1] != attr.shape[1]:
        raise ValueError(f"directions must be (k, {attr.shape[1]}), got {tuple(d.shape)}")
    return torch.einsum("nchw,kc->nkhw", attr, d)


def share_near(
    maps: torch.Tensor | np.ndarray, cells: Sequence[tuple[int, int]], radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per example: the share of positive attribution within ``radius`` cells (Chebyshev) of
    ``cells[i]``, and the share of the map's area there. No positive attribution: share 0."""
    m = torch.as_tensor(np.asarray(maps)).double().clamp(min=0).numpy()
    n, h, w = m.shape
    rows, cols = np.mgrid[0:h, 0:w]
    observed, area = np.zeros(n), np.zeros(n)
    for i, (r, c) in enumerate(cells):
        near = (np.abs(rows - r) <= radius) & (np.abs(cols - c) <= radius)
        total = m[i].sum()
        observed[i] = m[i][near].sum() / total if total > 0 else 0.0
        area[i] = near.mean()
    return observed, area


def attribution_figure(
    images: np.ndarray,
    maps: np.ndarray,
    marks: Sequence[Sequence[tuple[int, int]]] = (),
    titles: Sequence[str] = (),
    suptitle: str = "",
) -> plt.Figure:
    """Per example: the observation, and its attribution map (red +, blue -) over it, with
    marked map cells (e.g. the cheese's and the mouse's)."""
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(2.2 * n, 4.4), squeeze=False)
    for i in range(n):
        axes[0, i].imshow(images[i])
        axes[0, i].set_title(titles[i] if i < len(titles) else "", fontsize=7)
        lim = float(np.abs(maps[i]).max()) or 1.0
        axes[1, i].imshow(images[i], alpha=0.35, extent=(0, maps.shape[-1], maps.shape[-2], 0))
        axes[1, i].imshow(
            maps[i],
            cmap="bwr",
            vmin=-lim,
            vmax=lim,
            alpha=0.75,
            extent=(0, maps.shape[-1], maps.shape[-2], 0),
        )
        for r, c in marks[i] if i < len(marks) else ():
            axes[1, i].add_patch(plt.Rectangle((c, r), 1, 1, fill=False, ec="k", lw=1.2))
        for ax in axes[:, i]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(suptitle or "integrated-gradients attribution", fontsize=9)
    fig.tight_layout()
    return fig
