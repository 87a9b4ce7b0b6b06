"""NMF of a layer's activations: a few non-negative channel-space directions that explain
most of the activation mass over many observations (rl-vision's dimensionality reduction).

Each spatial cell of each observation is one row (``C`` channel values), so a direction is a
``C``-vector and every observation gets one ``H x W`` map per direction. NMF needs
``x >= 0``: a residual-stream layer (such as L) is clipped at zero first, which is exactly
what the next residual branch reads through its ReLU; the share of mass clipped is kept.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning


@dataclass(frozen=True, eq=False)
class LayerNMF:
    """Fitted directions of one layer; ``directions[i]`` is unit-norm and non-negative."""

    layer: str
    directions: np.ndarray  # (k, C)
    model: NMF
    norms: np.ndarray  # (k,) the sklearn components' norms (maps are scaled by them)
    clipped_share: float  # share of |activation| mass that was negative, dropped by the clip

    @property
    def k(self) -> int:
        return len(self.directions)

    def maps(self, acts: torch.Tensor | np.ndarray) -> np.ndarray:
        """(N, k, H, W) non-negative coefficients of each direction at each cell."""
        rows, shape = _rows(acts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            w = self.model.transform(rows) * self.norms
        n, _, h, wd = shape
        return w.reshape(n, h, wd, self.k).transpose(0, 3, 1, 2)

    def loading_share(self, index: int, channels: Sequence[int]) -> float:
        """Share of direction ``index``'s squared norm on ``channels``."""
        d = self.directions[index]
        return float((d[list(channels)] ** 2).sum() / (d**2).sum())


def _rows(acts: torch.Tensor | np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    a = acts.detach().cpu().numpy() if isinstance(acts, torch.Tensor) else np.asarray(acts)
    if a.ndim != 4:
        raise ValueError(f"NMF needs (N, C, H, W) activations, got shape {a.shape}")
    rows = np.maximum(a, 0).transpose(0, 2, 3, 1).reshape(-1, a.shape[1]).astype(np.float64)
    return rows, a.shape


def fit_layer_nmf(
    acts: torch.Tensor | np.ndarray, k: int, layer: str = "", seed: int = 0, max_iter: int = 500
) -> LayerNMF:
    """Fit ``k`` directions to ``(N, C, H, W)`` activations (clipped at zero), ordered by the
    activation mass they explain, largest first."""
    rows, shape = _rows(acts)
    if not 1 <= k <= shape[1]:
        raise ValueError(f"k must be in 1..{shape[1]} (the layer's channels), got {k}")
    a = acts.detach().cpu().numpy() if isinstance(acts, torch.Tensor) else np.asarray(acts)
    total = np.abs(a).sum()
    clipped = float(np.abs(np.minimum(a, 0)).sum() / total) if total > 0 else 0.0
    if not rows.any():
        raise ValueError("the activations are all <= 0: nothing for NMF to explain")
    model = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        w = model.fit_transform(rows)
    norms = np.linalg.norm(model.components_, axis=1)
    mass = (w * norms).sum(0)
    order = np.argsort(-mass, kind="stable")
    model.components_ = model.components_[order]
    norms = norms[order]
    safe = np.where(norms > 0, norms, 1.0)
    directions = model.components_ / safe[:, None]
    return LayerNMF(layer, directions, model, norms, clipped)


def top_examples(maps: np.ndarray, count: int) -> list[list[tuple[int, int, int, float]]]:
    """Per direction, the ``count`` (observation, row, col, value) with the largest map
    value, at most one per observation."""
    n, k, _h, w = maps.shape
    out = []
    for d in range(k):
        flat = maps[:, d].reshape(n, -1)
        best = flat.argmax(1)
        values = flat[np.arange(n), best]
        picks = np.argsort(-values, kind="stable")[:count]
        out.append([(int(i), int(best[i] // w), int(best[i] % w), float(values[i])) for i in picks])
    return out


def _crop(image: np.ndarray, row: int, col: int, map_size: int, radius: int) -> np.ndarray:
    """The pixels of map cell (row, col) of an (H, W, 3) image, with ``radius`` cells around."""
    per = image.shape[0] // map_size
    pad = np.pad(image, ((radius * per,) * 2, (radius * per,) * 2, (0, 0)))
    r0, c0 = row * per, col * per
    size = (2 * radius + 1) * per
    return pad[r0 : r0 + size, c0 : c0 + size]


def thumbnail_figure(
    nmf: LayerNMF,
    images: np.ndarray,
    maps: np.ndarray,
    count: int = 6,
    radius: int = 2,
    highlight: Sequence[int] = (),
    title: str = "",
) -> plt.Figure:
    """One row per direction: its channel loadings, then the image patches (uint8
    ``(N, 64, 64, 3)`` observations) around the cells that excite it most."""
    examples = top_examples(maps, count)
    k = nmf.k
    fig, axes = plt.subplots(k, count + 1, figsize=(1.6 * (count + 2), 1.5 * k), squeeze=False)
    map_size = maps.shape[-1]
    for d in range(k):
        ax = axes[d, 0]
        colours = [
            "tab:orange" if c in highlight else "tab:blue" for c in range(nmf.directions.shape[1])
        ]
        ax.bar(np.arange(nmf.directions.shape[1]), nmf.directions[d], color=colours, width=1.0)
        ax.set_ylabel(f"dir {d}", fontsize=8)
        ax.tick_params(labelsize=6)
        for j in range(count):
            ax = axes[d, j + 1]
            ax.axis("off")
            if j < len(examples[d]):
                i, r, c, v = examples[d][j]
                ax.imshow(_crop(images[i], r, c, map_size, radius), interpolation="nearest")
                ax.set_title(f"{v:.2g}", fontsize=7)
    fig.suptitle(title or f"NMF directions of {nmf.layer}: loadings and top patches", fontsize=9)
    fig.tight_layout()
    return fig
