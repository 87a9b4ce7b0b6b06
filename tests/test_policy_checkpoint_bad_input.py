"""Bad checkpoints: every one gets a typed, one-line error that says how to fix it.

Unsafe pickles (zip, legacy and plain; code-running payloads that are shown to be live) are
refused with the refused global named and without running anything; common wrapper layouts
load; odd contents (NaN, wrong dtypes, non-tensors, a non-integer scale, TorchScript, cut-off
files) are told apart. No message ever mentions ``weights_only`` (torch's advice to turn the
safe loader off).
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import os
import pickle
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.policy import (
    AmbiguousLayoutError,
    ChannelScaleError,
    CheckpointError,
    CheckpointFormatError,
    CheckpointLayout,
    CheckpointLayoutError,
    CheckpointNotFoundError,
    CorruptCheckpointError,
    ImpalaPolicy,
    NonFiniteWeightsError,
    NonTensorValueError,
    NotACheckpointError,
    ShapeMismatchError,
    StateDictKeysError,
    TorchScriptArchiveError,
    UnsafeCheckpointError,
    WeightDtypeError,
    WeightValueError,
    checkpoint_sha256,
    load_policy,
    open_policy,
    read_checkpoint,
    state_dict_sha256,
)
from harness.policy.sources import BUNDLED_CHECKPOINT

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SYSTEM = f"{os.system.__module__}.system"  # "posix.system" on Linux


def state(policy: ImpalaPolicy) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in policy.state_dict().items()}


def messages(exc: BaseException) -> list[str]:
    """The exception's text and that of every exception a traceback would display with it."""
    out: list[str] = []
    e: BaseException | None = exc
    while e is not None:
        out.append(str(e))
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    return out


def assert_no_unsafe_advice(exc: BaseException) -> None:
    for text in messages(exc):
        for phrase in ("weights_only", "weights only", "safe_globals", "trust"):
            assert phrase not in text.lower(), text


def save(path: Path, obj: object, legacy: bool = False) -> Path:
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path


# --------------------------------------------------------------------------- unsafe pickles
class _System:
    """Unpickling this runs ``touch <marker>`` through os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Eval:
    """Unpickling this creates the marker through builtins.eval."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (builtins.eval, (f"__import__('pathlib').Path({str(self.marker)!r}).touch()",))


class Stateful:
    """A plain user class: unpickling it imports this module and sets its ``__dict__``."""

    def __init__(self) -> None:
        self.note = "hello"


def _protocol0_text(marker: Path) -> bytes:
    """A hand-written protocol-0 pickle: GLOBAL os.system, then call it."""
    return f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()


PAYLOADS: dict[str, tuple[Callable[[Path], object], str]] = {
    "os.system": (_System, SYSTEM),
    "eval": (_Eval, "builtins.eval"),
    "user class": (lambda _m: Stateful(), f"{Stateful.__module__}.Stateful"),
}


def _write(path: Path, obj: object, container: str) -> None:
    if container == "zip":
        torch.save(obj, path)
        assert zipfile.is_zipfile(path)
    elif container == "legacy":
        torch.save(obj, path, _use_new_zipfile_serialization=False)
        assert not zipfile.is_zipfile(path)
    else:  # a plain pickle of the given protocol
        path.write_bytes(pickle.dumps(obj, protocol=int(container.removeprefix("pickle"))))


@pytest.mark.parametrize("payload", ["os.system", "eval"])
def test_control_payloads_really_execute_under_plain_pickle(tmp_path, payload):
    """Control: the payloads are live, so the refusals below mean something."""
    marker = tmp_path / "control_marker"
    blob = tmp_path / "control.pkl"
    blob.write_bytes(pickle.dumps({"x": PAYLOADS[payload][0](marker)}, protocol=2))
    code = f"import pickle; pickle.loads(open({str(blob)!r}, 'rb').read())"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert marker.exists()


def test_control_protocol0_text_pickle_executes(tmp_path):
    marker = tmp_path / "control_marker"
    blob = tmp_path / "control.pkl"
    blob.write_bytes(_protocol0_text(marker))
    code = f"import pickle; pickle.loads(open({str(blob)!r}, 'rb').read())"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert marker.exists()


@pytest.mark.parametrize("container", ["zip", "legacy", "pickle2", "pickle5"])
@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_code_needing_pickle_is_refused_naming_the_global(tmp_path, policy, container, payload):
    make, expected_global = PAYLOADS[payload]
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pth"
    _write(path, {"model_state_dict": state(policy), "extra": make(marker)}, container)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_policy(path, device="cpu")
    err = info.value
    assert not isinstance(err, CheckpointFormatError)  # not reported as a broken file
    assert expected_global in err.globals_needed
    assert expected_global in str(err) and "arbitrary code" in str(err)
    assert "nothing was executed" in str(err) and "torch.save(model.state_dict()" in str(err)
    assert "\n" not in str(err)
    assert_no_unsafe_advice(err)
    assert not marker.exists()


def test_protocol0_text_pickle_with_global_opcode_is_refused(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "text.pkl"
    path.write_bytes(_protocol0_text(marker))
    with pytest.raises(UnsafeCheckpointError, match=r"arbitrary code \(os\.system\)") as info:
        load_policy(path, device="cpu")
    assert info.value.globals_needed == ("os.system",)
    assert_no_unsafe_advice(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("legacy", [False, True])
def test_whole_pickled_module_is_refused_with_a_hint(tmp_path, policy, legacy):
    path = save(tmp_path / "module.pth", policy, legacy)
    with pytest.raises(UnsafeCheckpointError, match=r"whole pickled nn\.Module") as info:
        load_policy(path, device="cpu")
    assert "harness.policy.impala.ImpalaPolicy" in info.value.globals_needed
    assert "builtins.set" not in info.value.globals_needed  # torch allows it: not named
    assert "more" in str(info.value)  # ten classes: the message lists four
    assert_no_unsafe_advice(info.value)


def test_torch_text_never_reaches_the_traceback(tmp_path):
    path = save(tmp_path / "evil.pth", {"x": _System(tmp_path / "m")}, legacy=True)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_policy(path, device="cpu")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert len(messages(info.value)) == 1


# --------------------------------------------------------------------------- layouts
def _layouts(sd: dict[str, torch.Tensor]) -> dict[str, tuple[object, CheckpointLayout]]:
    prefixed = {f"module.{k}": v for k, v in sd.items()}
    return {
        "bare": (sd, CheckpointLayout("zip")),
        "state_dict": ({"state_dict": sd}, CheckpointLayout("zip", "state_dict")),
        "model": ({"model": sd}, CheckpointLayout("zip", "model")),
        "langosco with extras": (
            {
                "model_state_dict": sd,
                "optimizer_state_dict": {"state": {}, "param_groups": [{"lr": 5e-4}]},
                "epoch": 3,
                "config": {"env": "maze"},
            },
            CheckpointLayout(
                "zip", "model_state_dict", ignored_keys=("optimizer_state_dict", "epoch", "config")
            ),
        ),
        "module prefix": (prefixed, CheckpointLayout("zip", stripped_prefix="module.")),
        "state_dict + module prefix": (
            {"state_dict": prefixed, "step": 10},
            CheckpointLayout("zip", "state_dict", "module.", ("step",)),
        ),
    }


@pytest.mark.parametrize(
    "name",
    [
        "bare",
        "state_dict",
        "model",
        "langosco with extras",
        "module prefix",
        "state_dict + module prefix",
    ],
)
def test_common_layouts_load_the_same_policy(tmp_path, policy, obs, name):
    obj, layout = _layouts(state(policy))[name]
    path = save(tmp_path / "model.pth", obj)
    loaded, info = load_policy(path, device="cpu")
    reference = policy.to(memory_format=torch.channels_last)
    with torch.no_grad():
        assert torch.equal(loaded(obs)[0], reference(obs)[0])
    assert info.layout == layout
    assert info.sha256 == checkpoint_sha256(path)
    record = json.loads(json.dumps(info.to_dict()))
    assert record["layout"]["wrapper"] == layout.wrapper
    assert record["layout"]["summary"] == str(layout)
    # in memory: the same unwrapping, and the identity does not depend on the wrapper
    from_memory = load_policy(obj, device="cpu").info  # type: ignore[arg-type]
    assert from_memory.layout == dataclasses.replace(layout, container="memory")
    assert from_memory.sha256 == state_dict_sha256(policy.state_dict())


def test_layout_summary_says_what_was_unwrapped(tmp_path, policy):
    sd = {f"module.{k}": v.half() for k, v in state(policy).items()}
    path = save(tmp_path / "m.pth", {"state_dict": sd, "epoch": 3}, legacy=True)
    layout = load_policy(path, device="cpu").info.layout
    assert layout is not None and layout.container == "legacy"
    assert str(layout) == (
        "legacy torch file; weights under 'state_dict'; ignored ['epoch']; "
        "stripped key prefix 'module.'; cast float16 to float32"
    )
    _, from_read = read_checkpoint(path)
    assert from_read == layout


def test_planted_and_default_still_open():
    _, planted = open_policy("planted:saturating", device="cpu")
    assert planted.kind == "planted" and planted.layout is None
    assert planted.to_dict()["layout"] is None
    default, info = open_policy("default", device="cpu")
    if BUNDLED_CHECKPOINT.is_file():
        assert info.kind == "file" and info.layout is not None
        assert info.layout.container == "zip" and info.layout.wrapper == "model_state_dict"
    else:
        assert info.kind == "planted"
    assert next(default.parameters()).dtype == torch.float32


@pytest.mark.parametrize(
    ("first", "second"), [("model", "state_dict"), ("model_state_dict", "model")]
)
def test_two_wrappers_holding_weights_are_ambiguous(
    tmp_path, policy, make_random_policy, first, second
):
    obj = {first: state(policy), second: state(make_random_policy(seed=4)), "epoch": 1}
    path = save(tmp_path / "two.pth", obj)
    with pytest.raises(AmbiguousLayoutError) as info:
        load_policy(path, device="cpu")
    assert set(info.value.candidates) == {first, second}
    assert repr(first) in str(info.value) and repr(second) in str(info.value)
    assert isinstance(info.value, StateDictKeysError)
    with pytest.raises(AmbiguousLayoutError):
        load_policy(obj, device="cpu")


def test_wrapper_key_with_other_content_beside_weights_is_not_ambiguous(tmp_path, policy):
    """``model`` naming the architecture beside ``model_state_dict`` is fine."""
    path = save(tmp_path / "m.pth", {"model": "impala", "model_state_dict": state(policy)})
    info = load_policy(path, device="cpu").info
    assert info.layout is not None and info.layout.wrapper == "model_state_dict"
    assert info.layout.ignored_keys == ("model",)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([torch.zeros(3)], "holds a list"),
        (torch.zeros(3), "holds a Tensor"),
        ({}, "holds an empty dict"),
        (3, "holds a int"),
        (
            {"weights": "SD", "epoch": 3},
            r"top-level keys \['weights', 'epoch'\].*'weights' holds some",
        ),
        (
            {"state_dict": {"model": "SD"}},
            r"'state_dict' holds a dict with keys \['model'\].*one level",
        ),
        ({"model_state_dict": [1, 2]}, "'model_state_dict' holds a list"),
        (
            {"lr": 0.1, "epoch": 3},
            r"top-level keys \['lr', 'epoch'\]; no tensors at the top level;",
        ),
    ],
)
def test_unrecognized_layouts_list_the_keys_found(tmp_path, policy, obj, message):
    sd = state(policy)
    obj = _fill(obj, sd)
    path = save(tmp_path / "odd.pth", obj)
    with pytest.raises(CheckpointLayoutError, match=message) as info:
        load_policy(path, device="cpu")
    text = str(info.value)
    assert "'model_state_dict' or 'state_dict' or 'model'" in text
    assert isinstance(info.value, StateDictKeysError) and "\n" not in text
    assert_no_unsafe_advice(info.value)


def _fill(obj: object, sd: dict[str, torch.Tensor]) -> object:
    """Replace the placeholder "SD" with the state dict, at any depth."""
    if obj == "SD":
        return sd
    if isinstance(obj, dict):
        return {k: _fill(v, sd) for k, v in obj.items()}
    return obj


def test_layout_error_truncates_many_and_long_keys(tmp_path):
    obj = {f"k{i}": i for i in range(20)}
    obj["x" * 500] = 0
    path = save(tmp_path / "many.pth", obj)
    with pytest.raises(CheckpointLayoutError) as info:
        load_policy(path, device="cpu")
    text = str(info.value)
    assert "'k0'" in text and "'k7'" in text and "'k8'" not in text and "and 13 more" in text
    assert len(text) < 600
    assert len(info.value.keys_found) == 21


def test_non_string_keys_are_a_layout_error():
    with pytest.raises(CheckpointLayoutError, match=r"key 0 \(of type int\)"):
        load_policy({0: torch.zeros(1)}, device="cpu")


def test_module_prefix_on_some_keys_only_gets_a_hint(policy):
    sd = {(f"module.{k}" if i % 2 else k): v for i, (k, v) in enumerate(state(policy).items())}
    with pytest.raises(StateDictKeysError, match=r"18 of 36 keys start with 'module\.'") as info:
        load_policy(sd, device="cpu")
    assert not isinstance(info.value, CheckpointLayoutError)
    assert len(info.value.missing) == len(info.value.unexpected) == 18


def test_module_prefix_twice_is_stripped_once(policy):
    sd = {f"module.module.{k}": v for k, v in state(policy).items()}
    with pytest.raises(StateDictKeysError, match=r"every key still starts with 'module\.'"):
        load_policy(sd, device="cpu")


def test_other_architecture_names_missing_and_unexpected(tmp_path):
    path = save(
        tmp_path / "resnet.pth", {"conv1.weight": torch.zeros(3), "fc.weight": torch.zeros(2)}
    )
    with pytest.raises(StateDictKeysError, match="IMPALA CategoricalPolicy") as info:
        load_policy(path, device="cpu")
    assert info.value.unexpected == ("conv1.weight", "fc.weight")
    assert "embedder.block1.conv.weight" in info.value.missing and len(info.value.missing) == 36


# --------------------------------------------------------------------------- values
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("where", ["file", "memory"])
def test_non_finite_weights_are_refused(tmp_path, policy, bad, where):
    sd = state(policy)
    sd["embedder.block2.res1.conv1.weight"][0, 0, 0, :2] = bad
    source: object = save(tmp_path / "nan.pth", {"model_state_dict": sd}) if where == "file" else sd
    with pytest.raises(NonFiniteWeightsError) as info:
        load_policy(source, device="cpu")  # type: ignore[arg-type]
    assert info.value.keys == ("embedder.block2.res1.conv1.weight",)
    counts = "2 NaN and 0 infinite" if bad != bad else "0 NaN and 2 infinite"
    assert f"'embedder.block2.res1.conv1.weight' has {counts} values out of 9216" in str(info.value)
    assert "NaN action probabilities" in str(info.value)
    assert isinstance(info.value, WeightValueError)


def test_non_finite_lists_every_bad_key(policy):
    sd = state(policy)
    for k in ("fc_value.bias", "fc_policy.bias", "embedder.fc.bias"):
        sd[k][0] = float("nan")
    with pytest.raises(NonFiniteWeightsError, match=r"\(also \[") as info:
        load_policy(sd, device="cpu")
    assert set(info.value.keys) == {"fc_value.bias", "fc_policy.bias", "embedder.fc.bias"}


def test_float64_too_large_for_float32_is_refused(policy):
    sd = {k: v.double() for k, v in state(policy).items()}
    sd["fc_value.weight"][0, 0] = 1e300
    with pytest.raises(NonFiniteWeightsError, match="finite in float64, too large for float32"):
        load_policy(sd, device="cpu")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_dtypes_are_cast_to_float32(tmp_path, policy, obs, dtype):
    sd = {k: v.to(dtype) for k, v in state(policy).items()}
    path = save(tmp_path / "low.pth", {"model_state_dict": sd})
    loaded, info = load_policy(path, device="cpu")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    name = str(dtype).removeprefix("torch.")
    assert info.layout is not None and info.layout.cast_from == (name,)
    # the cast is exact: same as a float32 policy holding the rounded weights
    rounded, _ = load_policy({k: v.float() for k, v in sd.items()}, device="cpu")
    with torch.no_grad():
        assert torch.equal(loaded(obs)[0], rounded(obs)[0])


def test_mixed_dtypes_are_all_recorded(policy):
    sd = state(policy)
    sd["fc_value.weight"] = sd["fc_value.weight"].half()
    sd["fc_value.bias"] = sd["fc_value.bias"].double()
    info = load_policy(sd, device="cpu").info
    assert info.layout is not None and info.layout.cast_from == ("float16", "float64")
    assert load_policy(state(policy), device="cpu").info.layout.cast_from == ()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "dtype", [torch.int64, torch.int32, torch.uint8, torch.bool, torch.complex64]
)
def test_integer_bool_and_complex_weights_are_refused(tmp_path, policy, dtype):
    sd = state(policy)
    sd["embedder.block1.conv.weight"] = sd["embedder.block1.conv.weight"].to(dtype)
    path = save(tmp_path / "int.pth", sd)
    with pytest.raises(WeightDtypeError, match=f"non-float dtype {dtype}") as info:
        load_policy(path, device="cpu")
    assert info.value.keys == ("embedder.block1.conv.weight",)
    assert "float16, bfloat16 and float64 are converted" in str(info.value)


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ([0.0], "a list, not a tensor"),
        (0.5, "a float, not a tensor"),
        ("bias", "a str, not a tensor"),
        (None, "a NoneType, not a tensor"),
        ({"w": torch.zeros(1)}, "a dict, not a tensor"),
        (np.zeros(1, dtype=np.float32), "a ndarray, not a tensor"),
        (torch.zeros(1).to_sparse(), "a torch.sparse_coo tensor, not a dense one"),
        (torch.empty(1, device="meta"), "a meta tensor"),
    ],
)
def test_non_tensor_values_are_refused(policy, value, what):
    sd: dict[str, object] = state(policy)  # type: ignore[assignment]
    sd["fc_value.bias"] = value
    with pytest.raises(NonTensorValueError, match=f"'fc_value.bias' is {what}") as info:
        load_policy(sd, device="cpu")  # type: ignore[arg-type]
    assert info.value.keys == ("fc_value.bias",)


@pytest.mark.parametrize(("value", "what"), [([0.0], "a list"), (3, "a int"), ({"a": 1}, "a dict")])
def test_non_tensor_values_in_a_file(tmp_path, policy, value, what):
    sd: dict[str, object] = state(policy)  # type: ignore[assignment]
    sd["fc_policy.weight"] = value
    path = save(tmp_path / "odd.pth", {"model_state_dict": sd})
    with pytest.raises(
        NonTensorValueError, match=f"\\['model_state_dict'\\]: 'fc_policy.weight' is {what}"
    ):
        load_policy(path, device="cpu")


@pytest.mark.parametrize("channels", [24, 8, 40])
def test_non_integer_channel_scale(tmp_path, policy, channels):
    sd = state(policy)
    sd["embedder.block1.conv.weight"] = torch.zeros(channels, 3, 3, 3)
    path = save(tmp_path / "scale.pth", {"model_state_dict": sd})
    with pytest.raises(
        ChannelScaleError, match=f"has {channels} output channels; expected a multiple of 16"
    ):
        load_policy(path, device="cpu")


@pytest.mark.parametrize("shape", [(), (16,), (16, 3)])
def test_block1_weight_that_is_no_conv_weight(policy, shape):
    sd = state(policy)
    sd["embedder.block1.conv.weight"] = torch.zeros(shape)
    with pytest.raises(
        ChannelScaleError, match=re.escape(f"has shape {list(shape)}, expected a conv weight")
    ):
        load_policy(sd, device="cpu")


# --------------------------------------------------------------------------- files
def test_directory_names_the_checkpoints_inside(tmp_path, policy):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(CheckpointNotFoundError, match=r"is a directory.*pass a \.pth file$"):
        load_policy(run, device="cpu")
    save(run / "model_100.pth", state(policy))
    (run / "notes.txt").write_text("x")
    with pytest.raises(
        CheckpointNotFoundError, match=r"one of the files in it: \['model_100.pth'\]$"
    ):
        load_policy(run, device="cpu")


def test_tilde_is_expanded(tmp_path, policy, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    save(tmp_path / "m.pth", {"model_state_dict": state(policy)})
    info = load_policy("~/m.pth", device="cpu").info
    assert info.source == str(tmp_path / "m.pth")
    assert checkpoint_sha256("~/m.pth") == checkpoint_sha256(tmp_path / "m.pth")
    with pytest.raises(CheckpointNotFoundError, match=r"does not exist") as err:
        load_policy("~/nope.pth", device="cpu")
    assert f"'{tmp_path / 'nope.pth'}' (expanded from '~/nope.pth')" in str(err.value)


def test_unknown_user_in_tilde():
    with pytest.raises(CheckpointNotFoundError, match="cannot expand '~'"):
        load_policy("~no-such-user-xyz/m.pth", device="cpu")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pth"
    path.touch()
    with pytest.raises(NotACheckpointError, match=r"the file is empty \(0 bytes\)"):
        load_policy(path, device="cpu")


def test_plain_pickle_without_code(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"lr": 0.1, "names": ["a"]}, protocol=2))
    with pytest.raises(NotACheckpointError, match="a plain pickle, not a torch checkpoint"):
        load_policy(path, device="cpu")


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.5, 0.9, 0.999])
def test_truncated_zip(tmp_path, policy, fraction):
    data = save(tmp_path / "good.pth", {"model_state_dict": state(policy)}).read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(CorruptCheckpointError, match="truncated or corrupted zip archive") as info:
        load_policy(cut, device="cpu")
    assert_no_unsafe_advice(info.value)


def test_truncated_legacy_files_at_every_stage(tmp_path, policy):
    """Cut-offs inside the magic number, the system info, the object pickle and the raw
    storage bytes all raise a format error, never an unsafe-pickle one or a raw exception."""
    data = save(
        tmp_path / "good.pth", {"model_state_dict": state(policy)}, legacy=True
    ).read_bytes()
    cut = tmp_path / "cut.pth"
    kinds = set()
    for n in [*range(40, 4000, 97), len(data) // 2, len(data) - 1]:
        cut.write_bytes(data[:n])
        with pytest.raises(CheckpointFormatError) as info:
            load_policy(cut, device="cpu")
        assert_no_unsafe_advice(info.value)
        assert "\n" not in str(info.value)
        kinds.add(type(info.value))
    assert kinds == {CorruptCheckpointError}


def test_zip_that_is_not_a_torch_archive(tmp_path):
    path = tmp_path / "other.pth"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
        z.writestr("weights/model.npy", b"\x93NUMPY")
    with pytest.raises(
        NotACheckpointError, match=r"a zip archive but not a torch checkpoint.*'hello.txt'"
    ):
        load_policy(path, device="cpu")


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_torchscript_archive(tmp_path):
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(3, 2)), path)
    with pytest.raises(
        TorchScriptArchiveError, match=r"a TorchScript archive \(torch.jit.save\)"
    ) as info:
        load_policy(path, device="cpu")
    assert isinstance(info.value, NotACheckpointError)
    assert_no_unsafe_advice(info.value)


def test_legacy_file_with_a_newer_pickle_protocol(tmp_path, policy):
    path = tmp_path / "p4.pth"
    torch.save(state(policy), path, _use_new_zipfile_serialization=False, pickle_protocol=4)
    with pytest.raises(
        CheckpointFormatError, match=r"unreadable torch pickle \(pickle opcode 149 is not allowed"
    ) as info:
        load_policy(path, device="cpu")
    assert_no_unsafe_advice(info.value)


# --------------------------------------------------------------------------- every case at once
def _bad_files(tmp: Path, sd: dict[str, torch.Tensor]) -> dict[str, tuple[Path, type, str]]:
    """name -> (file, error type, message after the path)."""
    cases: dict[str, tuple[Path, type, str]] = {}

    def add(name: str, path: Path, error: type, start: str) -> None:
        cases[name] = (path, error, start)

    add(
        "legacy os.system",
        save(tmp / "a.pth", {"x": _System(tmp / "m")}, True),
        UnsafeCheckpointError,
        "refusing to load",
    )
    add(
        "zip eval",
        save(tmp / "b.pth", {"x": _Eval(tmp / "m")}),
        UnsafeCheckpointError,
        "refusing to load",
    )
    (tmp / "c.pkl").write_bytes(_protocol0_text(tmp / "m"))
    add("protocol-0 text", tmp / "c.pkl", UnsafeCheckpointError, "refusing to load")
    (tmp / "d.pth").touch()
    add("empty", tmp / "d.pth", NotACheckpointError, "the file is empty")
    (tmp / "e.pth").write_text("hello\n")
    add("text", tmp / "e.pth", NotACheckpointError, "not a torch checkpoint")
    add(
        "nan",
        save(tmp / "f.pth", {**sd, "fc_value.bias": torch.tensor([float("nan")])}),
        NonFiniteWeightsError,
        "'fc_value.bias' has 1 NaN",
    )
    add(
        "ambiguous",
        save(tmp / "g.pth", {"model": sd, "state_dict": sd}),
        AmbiguousLayoutError,
        "ambiguous",
    )
    add("list", save(tmp / "h.pth", [1]), CheckpointLayoutError, "holds a list")
    return cases


def test_every_bad_file_gets_a_typed_one_line_message_starting_with_its_path(tmp_path, policy):
    for name, (path, error, start) in _bad_files(tmp_path, state(policy)).items():
        with pytest.raises(CheckpointError) as info:
            load_policy(path, device="cpu")
        assert type(info.value) is error, name
        assert str(info.value).startswith(f"{path}: {start}"), (name, str(info.value))
        assert "\n" not in str(info.value), name
        assert_no_unsafe_advice(info.value)
    assert not (tmp_path / "m").exists()


def test_new_errors_share_the_base_and_keep_old_catch_clauses():
    for cls in (
        NotACheckpointError,
        TorchScriptArchiveError,
        CorruptCheckpointError,
        WeightValueError,
        NonTensorValueError,
        WeightDtypeError,
        NonFiniteWeightsError,
    ):
        assert issubclass(cls, CheckpointFormatError)  # callers catching it still catch these
    for cls in (CheckpointLayoutError, AmbiguousLayoutError):
        assert issubclass(cls, StateDictKeysError)
    assert not issubclass(UnsafeCheckpointError, CheckpointFormatError)


@pytest.mark.parametrize("shape", [(), (3,), (2, 2, 2, 2, 2)])
def test_any_weight_with_a_wrong_rank_is_a_typed_error(policy, shape):
    """Every key in turn: no raw IndexError from code that reads ``shape[0]``."""
    kinds = set()
    for key in policy.state_dict():
        sd = state(policy)
        sd[key] = torch.zeros(shape)
        with pytest.raises(CheckpointError) as info:
            load_policy(sd, device="cpu")
        assert key in str(info.value)
        kinds.add(type(info.value))
    assert kinds == {ShapeMismatchError, ChannelScaleError}
