"""The pretend second device: it catches what CUDA would refuse, and counts host syncs.

The first half checks the check itself (a bug it misses would pass the CI run it guards);
the second half runs the code paths that used to crash or sync on CUDA under it.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from harness.analysis.attribution import layer_attribution, pixel_attribution
from harness.analysis.kernel_edit import project_out_interventions
from harness.dream.ascent import DreamSettings, ascend
from harness.dream.objective import Heading
from harness.dream.relax import relax
from harness.experiments.cheese_vector import noise_like
from harness.hooks import intervening, run_with_interventions
from harness.interventions import AddVector, InterventionDeviceError, ProjectOut
from harness.maze import Maze
from harness.maze.render import observations
from harness.policy import load_planted
from harness.policy.fake_device import (
    FAKE_DEVICE,
    FakeDeviceError,
    fake_device,
    is_marked,
    sync_lines,
)
from harness.policy.probs import probs5

LAYER = "embedder.block2.res1.resadd_out"


@pytest.fixture()
def policy():
    return load_planted("cheese-seeker", device="cpu").policy


@pytest.fixture(scope="module")
def mazes():
    return [Maze.from_seed(s) for s in range(3)]


def _sites(fake, fragment: str) -> int:
    return sum(n for site, _, n in fake.sync_table() if fragment in site)


# ----------------------------------------------------------------------------- the check
def test_adopted_module_reports_the_fake_device_and_outputs_follow(policy):
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad(), fake_device(policy):
        p = next(policy.parameters())
        assert p.device == FAKE_DEVICE and is_marked(p)
        logits, _ = policy(x.to(p.device))
        assert logits.device == FAKE_DEVICE
        assert not is_marked(x)  # moving made a copy; the CPU original stays on the CPU
    assert next(policy.parameters()).device.type == "cpu"  # outside the mode: the real device


def test_mixing_the_devices_raises_with_the_call_site(policy):
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad(), fake_device(policy), pytest.raises(FakeDeviceError) as err:
        policy(x)
    assert "CPU tensors of shape (2, 3, 64, 64)" in str(err.value)
    assert "impala.py" in str(err.value)  # where the mixing happened


def test_numpy_of_a_device_tensor_raises_but_cpu_first_works_and_is_counted(policy):
    with fake_device(policy) as fake:
        t = torch.ones(3, device=FAKE_DEVICE)
        with pytest.raises(FakeDeviceError, match="numpy"):
            t.numpy()
        with pytest.raises(FakeDeviceError, match="numpy"):
            np.asarray(t)
        assert t.cpu().numpy().tolist() == [1.0, 1.0, 1.0]
    assert fake.sync_table() == [(fake.sync_table()[0][0], "cpu()", 1)]
    assert "test_fake_device.py" in fake.sync_table()[0][0]


def test_scalars_and_cpu_indices_are_allowed_as_on_cuda():
    with fake_device() as fake:
        t = torch.arange(6.0, device=FAKE_DEVICE)
        assert (t * torch.tensor(2.0)).device == FAKE_DEVICE  # a CPU 0-dim scalar
        assert t[torch.tensor([0, 2])].device == FAKE_DEVICE  # a CPU index tensor
        with pytest.raises(FakeDeviceError):
            t + torch.ones(6)
    assert fake.total_syncs == 0


def test_each_read_back_to_the_host_is_counted_where_it_happens():
    with fake_device() as fake:
        t = torch.arange(4.0, device=FAKE_DEVICE)
        for i in range(4):
            float(t[i])  # the per-element loop a GPU pays for
        if t.any():
            t.tolist()
        t[t > 1]
    kinds = {what: n for _, what, n in fake.sync_table()}
    assert kinds == {"float()": 4, "bool()": 1, "tolist()": 1, "boolean-mask indexing": 1}
    assert fake.total_syncs == 7
    assert sync_lines(fake.sync_table())[0].startswith("device check: 7 host syncs")


def test_only_the_cpu_and_the_fake_device_exist():
    with fake_device():
        with pytest.raises(FakeDeviceError, match="only"):
            torch.ones(2).to("cuda")
        with pytest.raises(FakeDeviceError, match="only"):
            torch.zeros(2, device="cuda")
        with pytest.raises(FakeDeviceError, match=r"\.cuda\(\)"):
            torch.ones(2).cuda()


def test_copies_and_moved_modules_stay_on_the_device(policy):
    with fake_device(policy):
        edited = copy.deepcopy(policy)
        assert all(p.device == FAKE_DEVICE for p in edited.parameters())
        linear = torch.nn.Linear(3, 2).to(FAKE_DEVICE)
        assert linear.weight.device == FAKE_DEVICE
        assert linear(torch.zeros(3, device=FAKE_DEVICE)).device == FAKE_DEVICE


def test_gradients_and_optimizers_work_on_the_device():
    with fake_device():
        w = torch.zeros(3, device=FAKE_DEVICE, requires_grad=True)
        opt = torch.optim.Adam([w], lr=0.1)
        (g,) = torch.autograd.grad((w - 1).pow(2).sum(), w)
        w.grad = g
        opt.step()
        assert g.device == FAKE_DEVICE and w.device == FAKE_DEVICE


# ----------------------------------------------------------------------------- the sites
def test_an_intervention_left_on_the_cpu_is_refused_and_to_device_fixes_it(policy, mazes):
    obs = observations(mazes[:1], "cpu")
    vec = torch.zeros(policy.embedder.block2.res1.conv2.out_channels, 16, 16)
    with torch.no_grad(), fake_device(policy):
        x = obs.to(FAKE_DEVICE)
        with pytest.raises(InterventionDeviceError):
            run_with_interventions(policy, x, [AddVector(LAYER, vec)])
        iv = AddVector(LAYER, vec).to(FAKE_DEVICE)
        assert run_with_interventions(policy, x, [iv]).logits.device == FAKE_DEVICE


def test_integrated_gradients_build_their_target_on_the_device(policy, mazes):
    obs = observations(mazes[:2], "cpu")
    with fake_device(policy):
        x = obs.to(FAKE_DEVICE)
        attr = layer_attribution(policy, x, LAYER, [0, 3], steps=4)
        pix = pixel_attribution(policy, x, [1, 2], steps=4)
        assert attr.device == FAKE_DEVICE and pix.device == FAKE_DEVICE


def test_kernel_edit_twin_and_projection_stay_on_the_device(policy, mazes):
    obs = observations(mazes[:2], "cpu")
    channels = policy.embedder.block2.res1.conv2.out_channels
    direction = np.eye(channels)[0]
    with torch.no_grad(), fake_device(policy) as fake:
        x = obs.to(FAKE_DEVICE)
        ivs = project_out_interventions([LAYER], direction, device=FAKE_DEVICE)
        run_with_interventions(policy, x, ivs)
        per_maze = ProjectOut(LAYER, torch.rand(2, channels, device=FAKE_DEVICE) + 0.1)
        with intervening(policy, [per_maze], owners=[0, 1]):
            policy(x)
    assert _sites(fake, "interventions.py") == 0  # preparing and applying: no read back
    assert _sites(fake, "intervention_values.py") == 2  # one finiteness check per intervention


def test_matched_noise_has_no_per_maze_sync_and_the_old_values():
    vectors = torch.rand(5, 4, 3, 3, generator=torch.Generator().manual_seed(1))
    seeds = [11, 12, 13, 14, 15]
    expected = torch.stack(
        [
            torch.randn(v.shape, generator=torch.Generator().manual_seed(s)) * float(v.std())
            for v, s in zip(vectors, seeds, strict=True)
        ]
    )
    assert torch.equal(noise_like(vectors, seeds, "match"), expected)
    with fake_device() as fake:
        out = noise_like(vectors.to(FAKE_DEVICE), seeds, "match")
        assert out.device == FAKE_DEVICE
    assert fake.total_syncs == 0


def test_dreaming_reads_the_device_once_whatever_the_step_count(policy, mazes):
    maze = mazes[0]
    objective = Heading(maze.mouse, maze.cheese)
    relaxation = relax(maze, fixed=[objective.target])
    counts = []
    for steps in (2, 5):
        with fake_device(policy) as fake:
            ascend(policy, relaxation, objective, maze.walls, DreamSettings(steps=steps))
        counts.append(_sites(fake, "ascent.py"))
    assert counts[0] == counts[1] > 0


def test_probs5_adds_each_group_in_action_order_as_index_add_did():
    logits = torch.randn(4000, 15, generator=torch.Generator().manual_seed(0)) * 4
    p = torch.softmax(logits, -1)
    from harness.actions import ACTION_TO_MOVE

    old = p.new_zeros(4000, 5).index_add_(-1, torch.as_tensor(ACTION_TO_MOVE), p)
    assert torch.equal(probs5(logits), old)  # the CPU's numbers did not move by a bit


def test_a_cpu_generator_cannot_draw_for_the_device():
    gen = torch.Generator().manual_seed(0)
    with fake_device():
        with pytest.raises(FakeDeviceError, match="generator"):
            torch.randn(3, generator=gen, device=FAKE_DEVICE)
        with pytest.raises(FakeDeviceError, match="generator"):
            torch.multinomial(torch.ones(2, 3, device=FAKE_DEVICE), 1, generator=gen)
        drawn = torch.randn(3, generator=gen).to(FAKE_DEVICE)  # the portable way
        assert drawn.device == FAKE_DEVICE
