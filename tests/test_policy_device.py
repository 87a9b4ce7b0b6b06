"""Device selection, batched inference and five-way move probabilities."""

from __future__ import annotations

import pytest
import torch

from harness.actions import MOVE_ACTIONS, Move
from harness.policy import DeviceError, ImpalaPolicy, infer, probs5, resolve_device
from harness.policy.probs import logits_for_moves


def test_auto_and_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(None).type == expected
    assert resolve_device("CPU") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("spec", ["cuda", "cuda:1"])
def test_cuda_requested_without_cuda_is_an_error(spec):
    with pytest.raises(DeviceError, match="CUDA is not available"):
        resolve_device(spec)


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "tpu"])
def test_unknown_device_strings(spec):
    with pytest.raises(DeviceError):
        resolve_device(spec)


def test_infer_runs_in_inference_mode_and_chunks_consistently():
    torch.manual_seed(0)
    policy = ImpalaPolicy().eval()
    obs = torch.rand(10, 3, 64, 64, dtype=torch.float64)
    whole = infer(policy, obs)
    chunked = infer(policy, obs, batch_size=3)
    assert whole.logits.dtype == torch.float32 and whole.logits.is_inference()
    assert whole.logits.shape == (10, 15) and whole.value.shape == (10,)
    torch.testing.assert_close(whole.logits, chunked.logits, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        infer(policy, torch.rand(3, 64, 64))


def test_probs5_sums_each_action_group():
    logits = torch.randn(6, 15, generator=torch.Generator().manual_seed(2))
    p15 = torch.softmax(logits, dim=-1)
    p5 = probs5(logits)
    assert p5.shape == (6, 5)
    for move, actions in MOVE_ACTIONS.items():
        torch.testing.assert_close(p5[:, move], p15[:, list(actions)].sum(-1))
    torch.testing.assert_close(p5.sum(-1), torch.ones(6))


def test_probs5_puts_a_dominant_logit_in_its_group():
    logits = torch.zeros(1, 15)
    logits[0, 7] = 50.0  # action 7 is a RIGHT action
    assert probs5(logits)[0].argmax().item() == Move.RIGHT
    with pytest.raises(ValueError, match="15 logits"):
        probs5(torch.zeros(2, 5))


def test_logits_for_moves_round_trips_through_probs5():
    moves = torch.tensor([[0.5, -1.0, 2.0, 1.0, -3.0]])
    torch.testing.assert_close(probs5(logits_for_moves(moves)), torch.softmax(moves, -1))
