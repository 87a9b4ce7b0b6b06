"""``python -m harness``: bad input is one line on stderr and exit 2; a bug keeps its traceback.

Only refusal paths run here: nothing trains, evaluates or downloads.
"""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness import cli_types
from harness.cli import Command, main
from harness.errors import USER_ERROR_NAMES, is_user_error, user_errors

ROOT = Path(__file__).resolve().parent.parent
MAX_SEED = 2**31 - 1


@pytest.fixture
def fill(tmp_path: Path):
    """Replace ``{file}`` (a regular file) and ``{tmp}`` (a directory) in an argv."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")

    def _fill(argv: list[str]) -> list[str]:
        return [a.format(file=blocker, tmp=tmp_path) for a in argv]

    return _fill


def argparse_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``argv`` expecting an argparse refusal; its one error line (after the usage)."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines[0].startswith(f"usage: python -m harness {argv[0]}")
    assert [line for line in lines if "error:" in line] == [lines[-1]]
    assert captured.out == ""
    return lines[-1]


def user_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``argv`` expecting a typed refusal from the command: exit 2, exactly one line."""
    assert main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"python -m harness {argv[0]}: error: ")
    return lines[0]


# ------------------------------------------------------------------ argparse refusals
BAD_OPTIONS = [
    # (argv, option, what the message must show)
    (["evaluate", "--seeds", "-3"], "--seeds", "positive integer, got '-3'"),
    (["evaluate", "--seeds", "0"], "--seeds", "positive integer, got '0'"),
    (["evaluate", "--seeds", "abc"], "--seeds", "expected an integer, got 'abc'"),
    (["evaluate", "--seeds", "2.5"], "--seeds", "expected an integer, got '2.5'"),
    (["evaluate", "--min-size", "4", "--max-size", "4"], "--min-size", "odd, 3..25"),
    (["evaluate", "--min-size", "1"], "--min-size", "got '1'"),
    (["evaluate", "--max-size", "27"], "--max-size", "got '27'"),
    (["evaluate", "--device", "tpu"], "--device", "unknown device 'tpu'"),
    (["evaluate", "--device", "cuda:x"], "--device", "unknown device 'cuda:x'"),
    (["evaluate", "--checkpoint", "{tmp}/missing.pth"], "--checkpoint", "no such file"),
    (["evaluate", "--checkpoint", "{tmp}"], "--checkpoint", "is not a file"),
    (["evaluate", "--json", "{file}/out.json"], "--json", "is a file"),
    (["evaluate", "--json", "{tmp}/no-dir/out.json"], "--json", "does not exist"),
    (["evaluate", "--json", "{tmp}"], "--json", "is a directory"),
    (["discover-channels", "--mazes", "0"], "--mazes", "got '0'"),
    (["discover-channels", "--placements", "-1"], "--placements", "got '-1'"),
    (["discover-channels", "--base-seed", "-1"], "--base-seed", f"0..{MAX_SEED}, got '-1'"),
    (["discover-channels", "--base-seed", str(2**31)], "--base-seed", f"got '{2**31}'"),
    (["discover-channels", "--min-rate", "1.5"], "--min-rate", "(0, 1], got '1.5'"),
    (["discover-channels", "--min-rate", "0"], "--min-rate", "(0, 1], got '0'"),
    (["discover-channels", "--min-rate", "nan"], "--min-rate", "finite number, got 'nan'"),
    (["discover-channels", "--min-rate", "x"], "--min-rate", "expected a number, got 'x'"),
    (["discover-channels", "--device", "gpu"], "--device", "unknown device 'gpu'"),
    (["discover-channels", "--checkpoint", "nope.pth"], "--checkpoint", "'nope.pth'"),
    (["discover-channels", "--out", "{file}/draft.toml"], "--out", "is a file"),
    (["train", "--run-dir", "{tmp}/r", "--threads", "0"], "--threads", "got '0'"),
    (["train", "--run-dir", "{tmp}/r", "--lr", "nan"], "--lr", "got 'nan'"),
    (["train", "--run-dir", "{tmp}/r", "--lr", "-0.001"], "--lr", "> 0, got '-0.001'"),
    (["train", "--run-dir", "{tmp}/r", "--max-seconds", "inf"], "--max-seconds", "'inf'"),
    (["train", "--run-dir", "{tmp}/r", "--aux-weight", "-1"], "--aux-weight", ">= 0, got '-1'"),
    (["train", "--run-dir", "{tmp}/r", "--total-samples", "0"], "--total-samples", "got '0'"),
    (["train", "--run-dir", "{tmp}/r", "--batch-size", "0"], "--batch-size", "got '0'"),
    (["train", "--run-dir", "{tmp}/r", "--eval-every-samples", "0"], "--eval-every-samples", "0"),
    (["train", "--run-dir", "{tmp}/r", "--data-seed", "-1"], "--data-seed", "got '-1'"),
    (["train", "--run-dir", "{tmp}/r", "--max-size", "24"], "--max-size", "got '24'"),
    (["train", "--run-dir", "{file}"], "--run-dir", "is not a directory"),
    (["train", "--run-dir", "{file}/run"], "--run-dir", "is a file"),
    (["fetch-checkpoint", "--retries", "-1"], "--retries", ">= 0, got '-1'"),
    (["fetch-checkpoint", "--timeout", "0"], "--timeout", "> 0, got '0'"),
    (["fetch-checkpoint", "--timeout", "nan"], "--timeout", "got 'nan'"),
    (["fetch-checkpoint", "--sha256", "not-a-hash"], "--sha256", "64 hex"),
    (["fetch-checkpoint", "--url", "notaurl"], "--url", "https:// URL, got 'notaurl'"),
    (["fetch-checkpoint", "--url", "http://host/"], "--url", "names no file"),
    (["fetch-checkpoint", "--cache-dir", "{file}/cache"], "--cache-dir", "is a file"),
]


@pytest.mark.parametrize(
    ("argv", "option", "shown"), BAD_OPTIONS, ids=[" ".join(c[0]) for c in BAD_OPTIONS]
)
def test_bad_option_values_are_usage_errors_naming_option_and_value(
    capsys, fill, argv, option, shown
):
    line = argparse_error(capsys, fill(argv))
    assert line.startswith(f"python -m harness {argv[0]}: error: argument {option}")
    assert fill([shown])[0] in line


def test_good_values_still_parse(fill):
    """The validators return what the commands expect (types unchanged)."""
    from harness.cli import build_parser

    args = build_parser().parse_args(
        fill(["discover-channels", "--base-seed", str(MAX_SEED), "--min-rate", "1"])
    )
    assert (args.base_seed, args.min_rate, args.checkpoint, args.device) == (
        MAX_SEED,
        1.0,
        "default",
        "auto",
    )
    args = build_parser().parse_args(fill(["train", "--run-dir", "{tmp}/new/run"]))
    assert isinstance(args.run_dir, str)  # goes into the JSON config as is
    args = build_parser().parse_args(fill(["evaluate", "--json", "{tmp}/e.json"]))
    assert args.json == Path(fill(["{tmp}/e.json"])[0])
    sha = build_parser().parse_args(["fetch-checkpoint", "--sha256", " " + "AB" * 32])
    assert sha.sha256 == "ab" * 32


@pytest.mark.parametrize("text", ["3", "5", "25"])
def test_maze_sizes_accept_every_odd_size(text):
    assert cli_types.maze_size(text) == int(text)


def test_copied_constants_agree_with_their_sources():
    from harness.maze.procgen_env import MAX_SEED as procgen_max
    from harness.policy.sources import DEFAULT_SPEC, PLANTED_PREFIX

    assert cli_types.MAX_SEED == procgen_max == MAX_SEED
    assert (cli_types.DEFAULT_SPEC, cli_types.PLANTED_PREFIX) == (DEFAULT_SPEC, PLANTED_PREFIX)


# ------------------------------------------------------------------ typed refusals
def test_empty_size_range_is_refused_before_loading(capsys, monkeypatch):
    import harness.policy

    monkeypatch.setattr(harness.policy, "open_policy", lambda *_a, **_k: pytest.fail("loaded"))
    line = user_error(capsys, ["evaluate", "--min-size", "9", "--max-size", "5"])
    assert line.endswith("error: --min-size 9 is larger than --max-size 5")


def test_size_range_emptied_by_the_profile_is_refused(capsys, monkeypatch):
    import harness.profiles

    model = SimpleNamespace(min_size=7, max_size=13)
    monkeypatch.setattr(
        harness.profiles, "resolve_profile", lambda *_a: SimpleNamespace(model=model)
    )
    line = user_error(capsys, ["evaluate", "--checkpoint", "planted", "--max-size", "5"])
    assert "maze sizes 7..5 are empty" in line and "7..13" in line


def test_unknown_planted_policy(capsys):
    line = user_error(capsys, ["evaluate", "--checkpoint", "planted:nonexistent"])
    assert "unknown planted policy 'nonexistent'" in line


def test_a_file_that_is_not_a_checkpoint(capsys, tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_text("this is not a torch file")
    line = user_error(capsys, ["discover-channels", "--checkpoint", str(junk)])
    assert str(junk) in line


def test_unknown_layer_names_the_label(capsys):
    argv = ["discover-channels", "--checkpoint", "planted", "--device", "cpu", "--layer", "nope"]
    assert "unknown layer 'nope'" in user_error(capsys, argv)


def test_cuda_without_cuda(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    line = user_error(capsys, ["evaluate", "--checkpoint", "planted", "--device", "cuda"])
    assert "CUDA is not available" in line


def test_base_seed_too_close_to_procgens_last_seed(capsys):
    argv = ["discover-channels", "--base-seed", str(MAX_SEED - 1), "--mazes", "3"]
    line = user_error(capsys, argv)
    assert f"--base-seed {MAX_SEED - 1}" in line and "--mazes 3" in line


@pytest.mark.parametrize(
    "extra", [["--max-size", "3"], ["--cells-per-maze", "1"], ["--batch-size", "100000"]]
)
def test_batches_that_could_never_fill_are_refused(capsys, tmp_path, extra):
    line = user_error(capsys, ["train", "--run-dir", str(tmp_path / "run"), *extra])
    assert "--batch-size" in line and "never fill" in line
    assert not (tmp_path / "run").exists()  # refused before the trainer made anything


def test_feasible_streams_pass_the_batch_check():
    from harness.train.command import check_stream, mean_chunk_samples
    from harness.train.data import StreamConfig

    check_stream(StreamConfig())
    check_stream(StreamConfig(max_size=3, batch_size=16))  # ~32 samples a chunk
    check_stream(StreamConfig(cells_per_maze=2))  # every maze has >= 6 cells: exactly 128
    assert mean_chunk_samples(StreamConfig(max_size=3)) == pytest.approx(64 * 6 / 12)


def test_the_cell_count_behind_the_batch_check():
    """A size-n level has (n + 1)**2 / 2 - 2 sample cells (what ``mean_chunk_samples`` uses)."""
    from harness.train.data import TRAIN_SEED_BASE, training_maze

    sizes = set()
    for seed in range(TRAIN_SEED_BASE, TRAIN_SEED_BASE + 40):
        maze = training_maze(seed, 0)
        sizes.add(maze.size)
        assert len(maze.mouse_cells) == (maze.size + 1) ** 2 // 2 - 2
    assert len(sizes) >= 6


# ------------------------------------------------------------------ the handler
@pytest.fixture
def command(monkeypatch):
    """A registry of one command ``boom`` whose ``run`` is the given function."""

    def _command(run) -> tuple[Command, ...]:
        module = types.ModuleType("fake_boom_command")
        module.add_arguments = lambda _parser: None
        module.run = run
        monkeypatch.setitem(sys.modules, module.__name__, module)
        return (Command("boom", module.__name__, "a test command"),)

    return _command


def _raise(exc: BaseException):
    def run(_args) -> int:
        raise exc

    return run


def test_typed_error_subclasses_are_one_line_even_with_newlines(capsys, command):
    from harness.maze.maze import MazeError

    class MazeSearchError(MazeError):  # like the subclasses the maze layer adds
        pass

    commands = command(_raise(MazeSearchError("no maze matches\n  size 4..4")))
    assert main(["boom"], commands) == 2
    assert capsys.readouterr().err == (
        "python -m harness boom: error: no maze matches; size 4..4\n"
    )


@pytest.mark.parametrize("exc", [ValueError("bug"), TypeError("bug"), KeyError("bug")])
def test_other_exceptions_are_bugs_and_propagate(command, exc):
    with pytest.raises(type(exc)):
        main(["boom"], command(_raise(exc)))


def test_interrupt_is_one_line_and_130(capsys, command):
    assert main(["boom"], command(_raise(KeyboardInterrupt()))) == 130
    assert capsys.readouterr().err == "python -m harness boom: interrupted\n"


def test_command_exit_codes_pass_through(command):
    assert main(["boom"], command(lambda _args: 3)) == 3


def test_user_error_names_resolve_to_exception_classes():
    classes = user_errors()
    assert len(classes) == len(USER_ERROR_NAMES)
    for name, cls in zip(USER_ERROR_NAMES, classes, strict=True):
        assert issubclass(cls, Exception) and name.endswith("." + cls.__name__)


def test_subclasses_count_and_bare_builtins_do_not():
    from harness.analysis.kernel_edit import KernelEditError
    from harness.policy.errors import CheckpointNotFoundError
    from harness.policy.fetch import UnpinnedChecksumError

    assert is_user_error(KernelEditError("x"))
    assert is_user_error(CheckpointNotFoundError("x"))
    assert is_user_error(UnpinnedChecksumError("x", got="0" * 64, part=Path("p")))
    for exc in (ValueError("x"), TypeError("x"), LookupError("x"), RuntimeError("x")):
        assert not is_user_error(exc)


# ------------------------------------------------------------------ real processes
def _harness(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_evaluate_with_no_odd_size_exits_2_at_once():
    """This used to hang forever: the held-out maze filter matched nothing."""
    proc = _harness("evaluate", "--min-size", "4", "--max-size", "4", "--seeds", "3")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "argument --min-size" in proc.stderr and "'4'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_typed_error_has_no_traceback():
    proc = _harness("evaluate", "--checkpoint", "planted:nonexistent", "--seeds", "1")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [proc.stderr.strip()] and proc.stderr.startswith(
        "python -m harness evaluate: error: unknown planted policy"
    )
    assert "Traceback" not in proc.stderr


def test_importing_the_error_and_type_modules_stays_light():
    code = "import sys, harness.errors, harness.cli_types; print('torch' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.stdout.strip() == "False", proc.stderr
