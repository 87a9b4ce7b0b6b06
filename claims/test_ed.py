"""ED: editing the kernels that read the layer to ignore the NMF cheese direction (issue 7)."""

from __future__ import annotations

import pytest

from harness.analysis.kernel_edit import project_out_interventions, reading_conv
from harness.experiments import directions as dr
from harness.experiments.examples import attach_example, edit_example
from harness.stats import all_of, equivalence, paired_difference


@pytest.mark.claim(
    id="ED1",
    title="Projecting the NMF cheese direction out of the next kernels removes cheese seeking, "
    "locally, unlike a random direction",
    source="issue 7 (rl-vision kernel editing, seed 002; CV1)",
    hypothesis="With the convolutions that read the layer's stream edited to ignore the NMF "
    "cheese direction, P(cheese) at the decision square drops by more than the threshold, the "
    "field off the cheese path changes by less than the margin, and the drop exceeds that "
    "from projecting out a random unit direction.",
)
def test_ed1_kernel_edit_removes_cheese_seeking(claim, subject):
    p = claim.params
    layers = list(p.require("edit_layers"))
    convs = [reading_conv(subject.policy, layer) for layer in layers]
    found = dr.cheese_direction(subject, dr.fit_settings(claim.profile.claim("NM1")))
    u = found.vector
    claim.add_note(
        f"direction: NMF dir {found.index} of relu({subject.layer}) (as NM1); kernels edited "
        f"W' = W (I - u u^T) on the input channels of {', '.join(convs)}; the random control "
        "projects a Gaussian unit direction per maze out at the same layers (the exact "
        "activation twin of the kernel edit)"
    )
    for conv in convs:
        claim.add_intervention(f"kernel {conv}: ignore NMF direction {found.index}")
    sample = claim.measure(
        subject.stream(has_decision_square=True),
        lambda mazes: dr.edit_effects(subject, mazes, layers, u),
        n=p.n,
    )
    thr, margin = p.require("threshold"), p.require("margin")

    def analysis(v, alpha):
        return all_of(
            paired_difference(
                v["unpatched"],
                v["edited"],
                threshold=thr,
                alpha=alpha,
                names=("unpatched", "edited"),
                label="P(cheese) drops",
            ),
            equivalence(
                v["edit_tv_off_path"],
                margin=margin,
                alpha=alpha,
                label="little change off the cheese path",
            ),
            paired_difference(
                v["drop"],
                v["random_drop"],
                threshold=0.0,
                alpha=alpha,
                names=("drop", "random_drop"),
                label="drop exceeds a random direction's",
            ),
        )

    result = sample.analyze(analysis)
    attach_example(
        claim,
        result,
        lambda maze: edit_example(
            subject,
            maze,
            lambda owners: project_out_interventions(layers, u, "nmf_cheese_direction"),
            ("unpatched", "cheese direction projected out"),
            "ED1: kernel edit (activation twin)",
        ),
        "vector field before and after the edit",
    )
    claim.conclude(result)
