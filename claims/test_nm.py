"""NM: NMF directions of the layer (issue 7). The NMF is fitted once on a fixed fit set
(the profile's [shared.nmf] table), its cheese direction chosen there, and measured on
fresh mazes."""

from __future__ import annotations

import pytest

from harness.experiments import directions as dr
from harness.experiments.channels import MIN_TRACKING_SIZE
from harness.maze.render import observe_uint8
from harness.maze.seed_ranges import SeedRange
from harness.stats import AllOf, PairedDifference


def attach_thumbnails(claim, subject, found: dr.CheeseDirection, highlight) -> None:
    """Loadings and top dataset patches of every direction (a failure is only a note)."""
    try:
        mazes = list(found.fit_mazes)
        images = observe_uint8(mazes)
        maps = dr.direction_maps(subject, found.nmf, mazes)
        fig = dr_thumbnails(found, images, maps, highlight)
        claim.add_figure("nmf_directions", fig, "NMF directions: loadings, top-exciting patches")
    except Exception as exc:
        claim.add_note(f"NMF figure failed: {type(exc).__name__}: {exc}")


def dr_thumbnails(found, images, maps, highlight):
    from harness.analysis.nmf import thumbnail_figure

    return thumbnail_figure(
        found.nmf,
        images,
        maps,
        highlight=highlight,
        title=f"NMF of relu({found.nmf.layer}); cheese direction = dir {found.index} "
        "(orange bars: profile cheese channels)",
    )


@pytest.mark.claim("NM1", source="issue 7 (rl-vision NMF, seed 002; CH1)")
def test_nm1_nmf_direction_tracks_the_cheese(claim, subject, cheese_channels):
    """One NMF direction of the layer tracks the cheese and loads on the cheese channels.

    NMF of the layer's positive part over many observations has a direction whose positive peak
    sits at the cheese's channel cell more often than the other directions' peaks do (by more
    than the threshold), and whose response is carried mostly (more than share_threshold) by the
    profile's cheese channels.
    """
    cheese = cheese_channels
    p = claim.params
    s = dr.FitSettings.from_table(claim.shared("nmf"))
    found = dr.cheese_direction(subject, s)
    fit_seeds = [m.seed for m in found.fit_mazes]
    claim.selected_on(
        SeedRange(min(fit_seeds), max(fit_seeds), "the NMF fit set, where dir was chosen"),
        "the cheese direction",
    )
    share = found.nmf.loading_share(found.index, cheese)
    claim.add_note(
        f"NMF of relu({subject.layer}) with {found.nmf.k} components on {len(found.fit_mazes)} "
        f"observations (levels from {s.fit_seed}, {s.positions} mouse cells each; "
        f"{found.nmf.clipped_share:.1%} of the activation mass was negative and clipped). "
        f"Cheese direction: dir {found.index} (fit-set hit rates "
        f"{', '.join(f'{r:.2f}' for r in found.fit_hit_rates)}); share of its squared norm on "
        f"the cheese channels {list(cheese)}: {share:.2f}"
    )
    sample = claim.measure(
        subject.stream(min_size=MIN_TRACKING_SIZE),
        dr.DirectionTracking(subject, found, tuple(cheese), s),
        n=p.n,
    )
    result = sample.test(
        AllOf(
            PairedDifference(
                "hit_direction",
                "hit_other_directions",
                threshold=p.require("threshold"),
                label="the direction's peak follows the cheese",
            ),
            PairedDifference(
                "cheese_channel_share",
                threshold=p.require("share_threshold"),
                label="its response is carried by the cheese channels",
            ),
        )
    )
    attach_thumbnails(claim, subject, found, cheese)
    claim.conclude(result)
