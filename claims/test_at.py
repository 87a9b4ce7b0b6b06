"""AT: integrated-gradients attribution (issue 7): where P(cheese) at the decision square
gets its attribution at the layer."""

from __future__ import annotations

import pytest

from harness.analysis.attribution import attribution_figure, spatial_map
from harness.claim.examples import example_mazes
from harness.experiments import directions as dr
from harness.maze.render import observe_uint8
from harness.policy.geometry import channel_cell
from harness.stats import PairedDifference


def attach_attribution_figure(claim, subject, result, steps: int, baseline: str) -> None:
    """Attribution maps of the sample's first four mazes (a failure is only a note)."""
    mazes = example_mazes(result, 4)
    if not mazes:
        return
    try:
        attr, _ = dr.decision_attribution(subject, mazes, steps, baseline)
        placed = [m.with_mouse(m.decision_square) for m in mazes]
        marks = [
            [channel_cell(m.to_outer(m.cheese)), channel_cell(m.to_outer(m.decision_square))]
            for m in mazes
        ]
        fig = attribution_figure(
            observe_uint8(placed),
            spatial_map(attr).cpu().numpy(),
            marks,
            [f"seed {m.seed}" for m in mazes],
            f"IG of P(cheese) at the DS w.r.t. {subject.layer}, summed over channels "
            "(boxes: cheese and DS cells)",
        )
        claim.add_figure("attribution", fig, "attribution maps of the first mazes")
    except Exception as exc:
        claim.add_note(f"attribution figure failed: {type(exc).__name__}: {exc}")


@pytest.mark.claim("AT1", source="issue 7 (rl-vision attribution, seed 002)")
def test_at1_attribution_concentrates_near_the_cheese(claim, subject):
    """Attribution of P(cheese) at the decision square concentrates near the cheese.

    Per maze, the share of positive integrated-gradients attribution (summed over channels at
    the layer) within `radius` channel cells of the cheese exceeds the share of the map's area
    there, on average by more than the threshold (share points).
    """
    p = claim.params
    radius, steps = int(p.require("radius")), int(p.require("steps"))
    baseline = str(p.require("baseline"))
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        dr.AttributionNearCheese(subject, radius, steps, baseline),
        n=p.n,
    )
    claim.add_note(
        f"integrated gradients ({steps} steps, captum) from a {baseline} baseline at "
        f"{subject.layer}, target P(first step toward the cheese) with the mouse on the DS; "
        "a maze with no positive attribution counts as share 0"
    )
    result = sample.test(
        PairedDifference("share_near_cheese", "area_share", threshold=p.require("threshold"))
    )
    attach_attribution_figure(claim, subject, result, steps, baseline)
    claim.conclude(result)
