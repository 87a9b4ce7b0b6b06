"""The plain record of one claim, filled during the test and shipped to the report.

A record is plain data (``to_dict``/``from_dict`` round-trip through JSON-safe builtins), so
it travels from an xdist worker to the controller attached to the test report, and every
writer works from the same dicts. Claims fill it through :class:`harness.claim.Claim`; the
report depends on nothing but this type.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.stats.format import json_ready

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class FigureAttachment:
    """A figure attached to a claim, stored as base64 PNG."""

    name: str
    png_base64: str
    caption: str = ""

    @property
    def file_stem(self) -> str:
        return _SAFE.sub("-", self.name).strip("-") or "figure"


def figure_png(fig_or_png: Any, dpi: int = 100) -> bytes:
    """PNG bytes of a matplotlib figure (rendered with Agg, then closed) or of PNG bytes."""
    if isinstance(fig_or_png, bytes | bytearray):
        data = bytes(fig_or_png)
        if not data.startswith(PNG_SIGNATURE):
            raise ValueError("figure bytes must be a PNG image (they lack the PNG signature)")
        return data
    if not hasattr(fig_or_png, "savefig"):
        raise TypeError(
            f"add_figure takes a matplotlib Figure or PNG bytes, got {type(fig_or_png).__name__}"
        )
    buffer = io.BytesIO()
    fig_or_png.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    try:  # release pyplot-managed figures; plain Figure objects are just garbage-collected
        import matplotlib.pyplot as plt

        plt.close(fig_or_png)
    except Exception:  # pragma: no cover - closing is best effort
        pass
    return buffer.getvalue()


@dataclass
class ClaimRecord:
    """Everything the report says about one claim test."""

    id: str
    claim_id: str
    nodeid: str
    title: str
    source: str
    hypothesis: str
    result: dict[str, Any] | None = None
    expected: str = "supported"
    seeds: list[int] = field(default_factory=list)
    #: Content hashes of the unit mazes, aligned with ``seeds`` (runs given ``--mazes``).
    mazes: list[str] = field(default_factory=list)
    base_seed: int | None = None
    per_seed: dict[str, Any] = field(default_factory=dict)
    unit_effects: list[float | None] = field(default_factory=list)
    unit_label: str = ""
    run: dict[str, Any] = field(default_factory=dict)
    interventions: list[str] = field(default_factory=list)
    conditions: list[dict[str, Any]] = field(default_factory=list)
    published: Any = None
    rationale: str = ""
    #: The effect change a regression check tolerates: ``{"value", "source"}`` (the profile).
    regression_tolerance: dict[str, Any] | None = None
    #: Facts the claim tests that were selected on other mazes, with those seeds (checked
    #: disjoint from ``seeds``): ``{"fact", "first", "last", "what"}``.
    selection: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counterexamples: list[dict[str, Any]] = field(default_factory=list)
    figures: list[FigureAttachment] = field(default_factory=list)
    wall_time_s: float | None = None
    outcome: str | None = None

    # -- filled by the claim ------------------------------------------------------------
    def add_figure(self, name: str, fig_or_png: Any, caption: str = "") -> None:
        if any(f.name == name for f in self.figures):
            raise ValueError(f"claim {self.id} already has a figure named {name!r}")
        png = figure_png(fig_or_png)
        self.figures.append(FigureAttachment(name, base64.b64encode(png).decode("ascii"), caption))

    def add_note(self, text: str) -> None:
        self.notes.append(str(text))

    def add_counterexample(self, description: str, seed: int | None = None, **details: Any) -> None:
        """A unit that goes against the claim (e.g. 'seed 16: P(cheese) rises by 0.005')."""
        self.counterexamples.append(
            {"seed": None if seed is None else int(seed), "description": str(description)}
            | {"details": json_ready(details)}
        )

    def has_condition(self, name: str) -> bool:
        return any(c.get("name") == name for c in self.conditions)

    def add_condition(self, condition: dict[str, Any]) -> None:
        """A measured condition (``Condition.to_dict()``: name, interventions as data); its
        interventions' descriptions join ``interventions``. Each name is recorded once."""
        if self.has_condition(condition.get("name", "")):
            return
        self.conditions.append(json_ready(condition))
        for iv in condition.get("interventions", ()):
            text = str(iv.get("description"))
            if text not in self.interventions:
                self.interventions.append(text)

    # -- transport ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["published"] = json_ready(self.published)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClaimRecord:
        data = dict(data)
        data["figures"] = [FigureAttachment(**f) for f in data.get("figures", [])]
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})
