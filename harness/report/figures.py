"""Report figures (matplotlib, Agg, no pyplot state): forest plot and per-seed distributions.

Claims have different units (probabilities, slopes, ratios), so the forest plot gives each
claim its own row and its own x-axis; every row shows the estimate, its interval, the
threshold (dashed) or the equivalence margin (shaded), coloured by verdict.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

VERDICT_COLORS = {"supported": "#1a7f37", "refuted": "#cf222e", "inconclusive": "#bf8700"}
_DPI = 96


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _finite(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _limits(points: list[float]) -> tuple[float, float]:
    lo, hi = min(points), max(points)
    pad = (hi - lo) * 0.15 or max(abs(lo), 1.0) * 0.1
    return lo - pad, hi + pad


def forest_plot(claims: Sequence[Mapping[str, Any]]) -> bytes | None:
    """One row per claim: estimate, interval, threshold / margin, verdict colour."""
    rows = [c for c in claims if c.get("estimate") is not None]
    if not rows:
        return None
    fig = Figure(figsize=(8.0, 0.55 * len(rows) + 0.6))
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, claim in zip(axes, rows, strict=True):
        color = VERDICT_COLORS.get(claim["verdict"], "#57606a")
        est = float(claim["estimate"])
        lo, hi = claim["ci"]
        margin = claim.get("margin")
        threshold = claim.get("threshold")
        pts = _finite([est, lo, hi, threshold, *(margin or [])])
        xmin, xmax = _limits(pts)
        ax.set_xlim(xmin, xmax)
        ax.hlines(
            0, lo if lo is not None else xmin, hi if hi is not None else xmax, color=color, lw=2.5
        )
        ax.plot([est], [0], "o", color=color, ms=6)
        if margin:
            ax.axvspan(margin[0], margin[1], color="#8c959f", alpha=0.18, lw=0)
        elif threshold is not None:
            ax.axvline(threshold, color="#57606a", ls="--", lw=1)
        ax.set_yticks([])
        ax.set_ylim(-1, 1)
        ax.set_ylabel(
            f"{claim['id']}\n{claim['verdict']}", rotation=0, ha="right", va="center", fontsize=8
        )
        ax.tick_params(axis="x", labelsize=7, pad=1)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    fig.suptitle("Effects and intervals by claim (each row on its own scale)", fontsize=10)
    fig.subplots_adjust(left=0.2, right=0.97, top=1 - 0.45 / fig.get_figheight(), hspace=1.2)
    return _png(fig)


def distribution_plot(claim: Mapping[str, Any]) -> bytes | None:
    """Histogram and strip of the per-seed values the claim's test used."""
    values = np.array(_finite(claim.get("unit_effects") or []))
    if values.size == 0:
        return None
    color = VERDICT_COLORS.get(claim.get("verdict") or "", "#57606a")
    fig = Figure(figsize=(6.0, 2.4))
    ax_hist, ax_strip = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    bins = min(30, max(5, int(np.sqrt(values.size)) * 2))
    if np.ptp(values) == 0:
        ax_hist.axvline(values[0], color=color, lw=3)
    else:
        ax_hist.hist(values, bins=bins, color=color, alpha=0.7)
    jitter = np.random.default_rng(0).uniform(-0.3, 0.3, values.size)
    ax_strip.plot(values, jitter, "|", color=color, alpha=0.6)
    ax_strip.set_yticks([])
    ax_strip.set_ylim(-0.5, 0.5)
    margin = claim.get("margin")
    threshold = claim.get("threshold")
    for ax in (ax_hist, ax_strip):
        if margin:
            ax.axvspan(margin[0], margin[1], color="#8c959f", alpha=0.18, lw=0)
        elif threshold is not None and claim.get("form") in ("difference", "trend"):
            ax.axvline(threshold, color="#57606a", ls="--", lw=1)
        elif threshold is not None and claim.get("form") == "ratio" and threshold > 0:
            ax.axvline(math.log(threshold), color="#57606a", ls="--", lw=1)  # values are logs
    ax_hist.set_title(
        f"{claim['id']}: per-seed {claim.get('unit_label') or 'values'} (n = {values.size})",
        fontsize=9,
    )
    ax_hist.tick_params(labelsize=7)
    ax_strip.tick_params(labelsize=7)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.86, bottom=0.14, hspace=0.1)
    return _png(fig)
