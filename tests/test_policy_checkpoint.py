"""Loading, saving and identifying checkpoints; every bad input gets its own typed error."""

from __future__ import annotations

import pickle
import subprocess
import sys
import zipfile

import pytest
import torch

from harness.policy import (
    ActionCountError,
    ChannelScaleError,
    CheckpointError,
    CheckpointFormatError,
    CheckpointNotFoundError,
    ImpalaPolicy,
    ShapeMismatchError,
    StateDictKeysError,
    UnsafeCheckpointError,
    checkpoint_sha256,
    load_policy,
    save_policy,
    state_dict_sha256,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def state(policy: ImpalaPolicy) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in policy.state_dict().items()}


# --------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("scale", [1, 2])
def test_save_then_load_gives_the_same_outputs(make_random_policy, tmp_path, obs, scale):
    original = make_random_policy(scale, seed=scale)
    path = tmp_path / "model.pth"
    digest = save_policy(original, path)
    loaded, info = load_policy(path, device="cpu")
    with torch.no_grad():
        # loaded policies run channels_last; compare against the same layout, bit for bit
        reference = original.to(memory_format=torch.channels_last)
        for a, b in zip(reference(obs), loaded(obs), strict=True):
            assert torch.equal(a, b)
    assert info.scale == scale and info.kind == "file" and info.source == str(path)
    assert info.sha256 == digest == checkpoint_sha256(path)
    assert not loaded.training and next(loaded.parameters()).dtype == torch.float32


def test_saved_file_has_langosco_layout_and_keeps_optimizer_state(tmp_path, policy):
    opt = torch.optim.Adam(policy.parameters(), lr=1e-3)
    path = tmp_path / "with_opt.pth"
    save_policy(policy, path, optimizer_state=opt.state_dict())
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"model_state_dict", "optimizer_state_dict"}
    assert "embedder.block2.res1.conv1.weight" in raw["model_state_dict"]
    load_policy(path, device="cpu")  # optimizer state beside the weights is accepted


def test_langosco_style_file_with_adam_state_loads(make_random_policy, tmp_path, obs):
    model = make_random_policy(seed=3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(obs)[0].sum().backward()
    opt.step()
    path = tmp_path / "model_rand_region_5.pth"
    torch.save(
        {"model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict()}, path
    )
    loaded, _ = load_policy(path, device="cpu")
    with torch.no_grad():
        reference = model.eval().to(memory_format=torch.channels_last)
        assert torch.equal(reference(obs)[0], loaded(obs)[0])


def test_bare_state_dict_file_and_in_memory_state_dict(tmp_path, policy, obs):
    path = tmp_path / "bare.pth"
    torch.save(policy.state_dict(), path)
    from_file, _ = load_policy(path, device="cpu")
    in_memory, info = load_policy(state(policy), device="cpu")
    reference = policy.to(memory_format=torch.channels_last)
    with torch.no_grad():
        assert torch.equal(from_file(obs)[0], reference(obs)[0])
        assert torch.equal(in_memory(obs)[0], reference(obs)[0])
    assert info.kind == "state_dict" and info.sha256 == state_dict_sha256(policy.state_dict())


def test_state_dict_hash_is_stable_and_sensitive(make_random_policy):
    sd = state(make_random_policy(seed=5))
    assert state_dict_sha256(sd) == state_dict_sha256(dict(reversed(list(sd.items()))))
    sd["fc_value.bias"] = sd["fc_value.bias"] + 1e-3
    assert state_dict_sha256(sd) != state_dict_sha256(state(make_random_policy(seed=5)))


def test_half_and_double_weights_become_float32(policy, obs):
    sd = {k: v.double() for k, v in policy.state_dict().items()}
    loaded, _ = load_policy(sd, device="cpu")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    with torch.no_grad():
        torch.testing.assert_close(loaded(obs)[0], policy(obs)[0])


def test_file_hash_changes_with_content(make_random_policy, tmp_path, policy):
    a, b = tmp_path / "a.pth", tmp_path / "b.pth"
    save_policy(policy, a)
    save_policy(make_random_policy(seed=9), b)
    assert checkpoint_sha256(a) != checkpoint_sha256(b)
    assert len(checkpoint_sha256(a)) == 64


# --------------------------------------------------------------------------- not files
def test_missing_path_and_directory(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="does not exist"):
        load_policy(tmp_path / "nope.pth")
    with pytest.raises(CheckpointNotFoundError, match="is a directory"):
        load_policy(tmp_path)
    assert issubclass(CheckpointNotFoundError, FileNotFoundError)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"hello, I am not a checkpoint\n", "not a torch checkpoint"),
        (bytes(range(256)) * 4, "not a torch checkpoint"),
    ],
)
def test_not_a_torch_file(tmp_path, content, message):
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointFormatError, match=message):
        load_policy(path)


def test_truncated_zip_checkpoint(tmp_path, policy):
    good = tmp_path / "good.pth"
    save_policy(policy, good)
    data = good.read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointFormatError, match="truncated or corrupted"):
        load_policy(cut)


def test_truncated_legacy_checkpoint(tmp_path, policy):
    good = tmp_path / "legacy.pth"
    torch.save(
        {"model_state_dict": policy.state_dict()}, good, _use_new_zipfile_serialization=False
    )
    assert load_policy(good, device="cpu").info.scale == 1  # the intact legacy file loads
    cut = tmp_path / "legacy_cut.pth"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(CheckpointFormatError):
        load_policy(cut)


# --------------------------------------------------------------------------- code execution
class _CreatesFile:
    """Unpickling this calls open(path, "w"): a harmless stand-in for arbitrary code."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_payload_really_executes_under_plain_pickle(tmp_path):
    """Control: the payload is live, so the refusals below mean something."""
    marker = tmp_path / "control_marker"
    payload = tmp_path / "control.pkl"
    payload.write_bytes(pickle.dumps({"model_state_dict": _CreatesFile(str(marker))}, protocol=2))
    code = f"import pickle; pickle.loads(open({str(payload)!r}, 'rb').read())"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert marker.exists()


@pytest.mark.parametrize("container", ["raw pickle", "torch zip"])
def test_pickle_needing_code_is_refused_without_executing(tmp_path, policy, container):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pth"
    evil = {"model_state_dict": policy.state_dict(), "extra": _CreatesFile(str(marker))}
    if container == "raw pickle":
        path.write_bytes(pickle.dumps(evil, protocol=2))
    else:
        torch.save(evil, path)
        assert zipfile.is_zipfile(path)
    with pytest.raises(UnsafeCheckpointError, match="arbitrary code") as info:
        load_policy(path)
    assert any(g.endswith("open") for g in info.value.globals_needed)
    assert not marker.exists()


# --------------------------------------------------------------------------- wrong contents
def test_missing_and_unexpected_keys_are_named(policy):
    sd = state(policy)
    del sd["fc_value.bias"]
    sd["embedder.block4.conv.weight"] = torch.zeros(1)
    with pytest.raises(StateDictKeysError) as info:
        load_policy(sd)
    assert info.value.missing == ("fc_value.bias",)
    assert info.value.unexpected == ("embedder.block4.conv.weight",)
    assert "fc_value.bias" in str(info.value) and "block4" in str(info.value)


def test_wrong_shape_names_key_expected_and_got(policy):
    sd = state(policy)
    sd["embedder.block2.res1.conv1.weight"] = torch.zeros(32, 32, 5, 5)
    with pytest.raises(ShapeMismatchError) as info:
        load_policy(sd)
    assert info.value.mismatches == (
        ("embedder.block2.res1.conv1.weight", (32, 32, 3, 3), (32, 32, 5, 5)),
    )
    assert "expected [32, 32, 3, 3], got [32, 32, 5, 5]" in str(info.value)


def test_wrong_action_count(policy):
    sd = state(policy)
    sd["fc_policy.weight"] = torch.zeros(10, 256)
    sd["fc_policy.bias"] = torch.zeros(10)
    with pytest.raises(ActionCountError, match="10 action logits, expected 15") as info:
        load_policy(sd)
    assert (info.value.got, info.value.expected) == (10, 15)


def test_inconsistent_channel_scale(make_random_policy, policy):
    sd = state(make_random_policy(scale=2))
    sd["embedder.block1.conv.weight"] = torch.zeros(16, 3, 3, 3)  # scale 1 in block 1 only
    with pytest.raises(ChannelScaleError, match="scale 1"):
        load_policy(sd)
    sd = state(policy)
    sd["embedder.block1.conv.weight"] = torch.zeros(24, 3, 3, 3)
    with pytest.raises(ChannelScaleError, match="multiple of 16"):
        load_policy(sd)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda sd: sd.update({"fc_value.bias": [0.0]}), "not a tensor"),
        (lambda sd: sd.update({"fc_value.bias": torch.zeros(1, dtype=torch.long)}), "non-float"),
        (lambda sd: sd.update({"fc_value.bias": torch.tensor([float("nan")])}), "NaN"),
    ],
)
def test_bad_values(policy, edit, message):
    sd = state(policy)
    edit(sd)
    with pytest.raises(CheckpointFormatError, match=message):
        load_policy(sd)


def test_file_holding_something_else(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(3)], path)
    with pytest.raises(
        StateDictKeysError, match=r"holds a list; expected a state dict.*model_state_dict"
    ):
        load_policy(path)


def test_all_errors_share_one_base():
    for cls in (
        CheckpointNotFoundError,
        CheckpointFormatError,
        UnsafeCheckpointError,
        StateDictKeysError,
        ShapeMismatchError,
        ActionCountError,
        ChannelScaleError,
    ):
        assert issubclass(cls, CheckpointError)
