"""The interpretable IMPALA computes exactly what a plain functional IMPALA computes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from harness.policy.impala import ImpalaPolicy

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def reference_impala(sd: dict[str, torch.Tensor], obs: torch.Tensor):
    """Langosco et al.'s IMPALA written directly with torch.nn.functional."""

    def conv(x, key):
        return F.conv2d(x, sd[f"{key}.weight"], sd[f"{key}.bias"], padding=1)

    def residual(x, key):
        out = conv(F.relu(x), f"{key}.conv1")
        out = conv(F.relu(out), f"{key}.conv2")
        return out + x

    x = obs
    for b in ("block1", "block2", "block3"):
        key = f"embedder.{b}"
        x = F.max_pool2d(conv(x, f"{key}.conv"), kernel_size=3, stride=2, padding=1)
        x = residual(residual(x, f"{key}.res1"), f"{key}.res2")
    x = F.relu(x).reshape(x.shape[0], -1)
    hidden = F.relu(F.linear(x, sd["embedder.fc.weight"], sd["embedder.fc.bias"]))
    logits = F.linear(hidden, sd["fc_policy.weight"], sd["fc_policy.bias"])
    value = F.linear(hidden, sd["fc_value.weight"], sd["fc_value.bias"])[:, 0]
    return logits, value


@pytest.mark.parametrize("scale", [1, 4])
def test_matches_functional_reference_on_random_weights(scale):
    gen = torch.Generator().manual_seed(scale)
    policy = ImpalaPolicy(scale=scale).eval()
    with torch.no_grad():
        for p in policy.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    obs = torch.rand(3, 3, 64, 64, generator=gen)
    with torch.no_grad():
        logits, value = policy(obs)
        ref_logits, ref_value = reference_impala(policy.state_dict(), obs)
    assert logits.shape == (3, 15) and value.shape == (3,)
    torch.testing.assert_close(logits, ref_logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(value, ref_value, atol=1e-5, rtol=0)


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_channel_counts_follow_the_scale(scale):
    sd = ImpalaPolicy(scale=scale).state_dict()
    assert sd["embedder.block1.conv.weight"].shape[0] == 16 * scale
    assert sd["embedder.block2.res1.conv1.weight"].shape == (32 * scale, 32 * scale, 3, 3)
    assert sd["embedder.fc.weight"].shape == (256, 32 * scale * 8 * 8)


def test_two_scales_coexist_without_global_state():
    small, big = ImpalaPolicy(scale=1), ImpalaPolicy(scale=4)
    assert small.embedder.block3.conv.out_channels == 32
    assert big.embedder.block3.conv.out_channels == 128
    assert (small.scale, big.scale) == (1, 4)


def test_every_operation_is_a_named_module():
    names = {name for name, _ in ImpalaPolicy().named_modules()}
    for expected in (
        "embedder.block2.res1.relu1",
        "embedder.block2.res1.resadd",
        "embedder.block3.maxpool",
        "embedder.relu3",
        "embedder.flatten",
        "embedder.relufc",
        "fc_policy",
        "fc_value",
    ):
        assert expected in names
