"""Hook labels, activation capture and hook hygiene."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch
import torch.nn.functional as F

from harness.hooks import (
    UnknownLayerError,
    hooked,
    intervening,
    layer_shapes,
    resolve_label,
    run_with_cache,
    run_with_interventions,
)
from harness.interventions import AddVector, InterventionShapeError

L = "embedder.block2.res1.resadd_out"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def no_hooks_left(policy: torch.nn.Module) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in policy.modules())


@pytest.mark.parametrize(("scale", "channels"), [(1, 32), (4, 128)])
def test_layer_shapes_follow_the_architecture(make_random_policy, scale, channels):
    shapes = layer_shapes(make_random_policy(scale))
    assert shapes[L] == (channels, 16, 16)
    assert shapes["embedder.block1.conv_out"] == (16 * scale, 64, 64)
    assert shapes["embedder.block3.maxpool_out"] == (channels, 8, 8)
    assert shapes["embedder.flatten_out"] == (channels * 64,)
    assert shapes["fc_policy_out"] == (15,) and shapes["fc_value_out"] == (1,)
    labels = list(shapes)
    assert (
        labels.index("embedder.block1.conv_out") < labels.index(L) < labels.index("fc_policy_out")
    )


def test_leaf_labels_list_each_activation_once(policy):
    leaves = layer_shapes(policy, containers=False)
    assert L in leaves and "embedder.block2.res1_out" not in leaves
    assert "embedder.block2.res1_out" in layer_shapes(policy)
    assert all(label.endswith("_out") for label in leaves)


def test_unknown_label_suggests_the_closest(policy, obs):
    with pytest.raises(UnknownLayerError) as info:
        run_with_cache(policy, obs, ["embedder.block2.res1.resad_out"])
    assert info.value.suggestions[0] == L
    assert L in str(info.value)
    with pytest.raises(
        UnknownLayerError, match=r"did you mean .*embedder\.block2\.res1\.resadd_out"
    ):
        resolve_label(policy, "embedder.block2.res1.resadd")  # module name without _out


def test_cache_matches_a_manual_computation(policy, obs):
    out = run_with_cache(policy, obs, [L, "embedder.block1.maxpool_out", "fc_policy_out"])
    e = policy.embedder
    with torch.no_grad():
        x = e.block1(obs)
        pooled = F.max_pool2d(e.block2.conv(x), 3, 2, 1)
        expected = e.block2.res1(pooled)
        torch.testing.assert_close(out.cache[L], expected)
        torch.testing.assert_close(
            out.cache["embedder.block1.maxpool_out"], F.max_pool2d(e.block1.conv(obs), 3, 2, 1)
        )
        logits, value = policy(obs)
    assert torch.equal(out.cache["fc_policy_out"], out.logits)
    torch.testing.assert_close(out.logits, logits)
    torch.testing.assert_close(out.value, value)
    assert out.cache[L].shape == (len(obs), 32, 16, 16)
    assert no_hooks_left(policy)


def test_missing_cache_key_names_what_was_cached(policy, obs):
    cache = run_with_cache(policy, obs, [L]).cache
    with pytest.raises(UnknownLayerError, match="did you mean"):
        cache["embedder.block2.res1.resadd"]


def test_hooks_are_removed_when_the_forward_pass_raises(policy, obs):
    bad = AddVector(L, torch.zeros(3, 32, 16, 16))  # per-example vectors for a batch of 3
    with pytest.raises(InterventionShapeError):
        run_with_interventions(policy, obs, bad)
    assert no_hooks_left(policy)
    with (
        pytest.raises(RuntimeError, match="boom"),
        intervening(policy, AddVector(L, torch.ones(32, 16, 16))),
    ):
        assert not no_hooks_left(policy)
        raise RuntimeError("boom")
    assert no_hooks_left(policy)


def test_validation_errors_install_nothing(policy):
    with (
        pytest.raises(UnknownLayerError),
        intervening(
            policy, [AddVector(L, torch.ones(32, 16, 16)), AddVector("nope_out", torch.ones(1))]
        ),
    ):
        pass
    assert no_hooks_left(policy)


def test_contexts_nest_and_unwind_in_order(policy, obs):
    v = torch.full((32, 16, 16), 0.5)
    with torch.no_grad():
        plain = policy(obs)[0]
        with intervening(policy, AddVector(L, v)):
            once = policy(obs)[0]
            with intervening(policy, AddVector(L, v)):
                twice = policy(obs)[0]
                double = run_with_interventions(policy, obs, []).logits
            back = policy(obs)[0]
        after = policy(obs)[0]
        reference = run_with_interventions(policy, obs, AddVector(L, v, coeff=2.0)).logits
    assert torch.equal(once, back) and torch.equal(plain, after)
    torch.testing.assert_close(twice, reference)
    assert torch.equal(twice, double)
    assert not torch.allclose(plain, once)


def test_policy_method_is_the_same_context(policy, obs):
    iv = AddVector(L, torch.ones(32, 16, 16), coeff=-1.0)
    with torch.no_grad(), policy.intervening([iv]):
        via_method = policy(obs)[0]
    assert torch.equal(via_method, run_with_interventions(policy, obs, iv).logits)


def test_cache_records_the_edited_activation(policy, obs):
    v = torch.randn(32, 16, 16, generator=torch.Generator().manual_seed(4))
    plain = run_with_cache(policy, obs, [L]).cache[L]
    edited = run_with_cache(policy, obs, [L], interventions=AddVector(L, v, 2.0)).cache[L]
    torch.testing.assert_close(edited, plain + 2.0 * v)


def test_grad_mode_lets_gradients_flow(policy, obs):
    x = obs.clone().requires_grad_(True)
    out = run_with_cache(policy, x, [L], grad=True)
    out.cache[L].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert run_with_cache(policy, obs, [L]).cache[L].is_inference()


def test_one_hooked_policy_per_policy_with_its_own_memo(make_random_policy):
    a, b = make_random_policy(seed=1), make_random_policy(seed=2)
    assert hooked(a) is hooked(a) and hooked(a) is not hooked(b)
    calls = []
    assert hooked(a).memo("k", lambda: calls.append(1) or "first") == "first"
    assert hooked(a).memo("k", lambda: calls.append(2) or "second") == "first"
    assert hooked(b).memo("k", lambda: "other") == "other" and calls == [1]
    # weakly keyed: the entry goes away with its policy, and nothing keeps the policy alive
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is None
