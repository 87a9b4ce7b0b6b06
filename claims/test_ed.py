"""ED: editing the kernels that read the layer to ignore the NMF cheese direction (issue 7)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.analysis.kernel_edit import KernelEdit, reading_conv
from harness.experiments import directions as dr
from harness.stats import AllOf, Magnitude, PairedDifference


@pytest.mark.claim("ED1", source="issue 7 (rl-vision kernel editing, seed 002; CV1)")
def test_ed1_kernel_edit_removes_cheese_seeking(claim, subject):
    """Projecting the NMF cheese direction out of the next kernels removes cheese seeking,
    locally, unlike a random direction.

    With the convolutions that read the layer's stream edited to ignore the NMF cheese
    direction, P(cheese) at the decision square drops by more than the threshold, the field off
    the cheese path changes by less than the margin, and the drop exceeds that from projecting
    out a random unit direction that removes the same activation energy, by more than the
    control threshold.
    """
    p = claim.params
    layers = tuple(p.require("edit_layers"))
    convs = [reading_conv(subject.policy, layer) for layer in layers]
    found = dr.cheese_direction(subject, dr.FitSettings.from_table(claim.shared("nmf")))
    claim.add_note(
        f"direction: NMF dir {found.index} of relu({subject.layer}) (as NM1); kernels edited "
        f"W' = W (I - u u^T) on the input channels of {', '.join(convs)}; the random control "
        "projects out, at the same layers, a random unit direction per maze matched to the NMF "
        "direction on the activation energy it removes there (mouse on the DS)"
    )
    edit = KernelEdit(layers, found.vector, f"NMF direction {found.index}")
    experiment = dr.KernelEditEffects(subject, edit)
    sample = claim.measure(subject.stream(has_decision_square=True), experiment, n=p.n)
    result = sample.test(
        AllOf(
            PairedDifference(
                "unpatched", "edited", threshold=p.require("threshold"), label="P(cheese) drops"
            ),
            Magnitude(
                "edit_tv_off_path",
                margin=p.require("margin"),
                measure="mean total variation of the field off the cheese path",
                label="little change off the cheese path",
            ),
            PairedDifference(
                "drop",
                "random_drop",
                threshold=p.require("control_threshold"),
                label="drop exceeds a matched random direction's",
            ),
        )
    )
    v = sample.values
    claim.add_note(
        "matched control: removed-energy ratio control/NMF "
        f"{np.min(v['control_energy_ratio']):.3f}-{np.max(v['control_energy_ratio']):.3f}, mean "
        f"|cosine| with the NMF direction {np.mean(v['control_abs_cosine']):.3f}"
    )
    claim.attach_example(result, experiment, "vector field before and after the edit")
    claim.conclude(result)
