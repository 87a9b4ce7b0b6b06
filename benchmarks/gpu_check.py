"""GPU check: do the claims give the same answers on a CUDA GPU as on the CPU?

    python benchmarks/gpu_check.py [--device cuda] [-k EXPR] [--out DIR]
                                   [--skip-ground-truth] [--skip-throughput]

Development and CI run on CPU-only machines (`--device cuda` is never exercised there), so
this script is what to run once on a machine that has a CUDA GPU. It checks:

1. ground truth: ``pytest claims/ --checkpoint planted:cheese-seeker --budget quick`` on the
   GPU gets every verdict the planted profile dictates (the expectations of
   tests/test_ground_truth.py, which runs the same comparison on the CPU);
2. reproducibility: the quick suite on the bundled policy, run twice on the GPU, writes the
   same report.json once the clock-dependent fields are removed
   (:func:`harness.report.build.strip_timings`). Nothing else is ignored: two identical CPU
   runs were found to differ in no other field, so any other difference is the GPU's;
3. GPU vs CPU: the same suite once on the CPU gives the same verdict for every claim record
   id, and estimates and interval bounds within the tolerance below (records that differ
   are listed);
4. forward throughput (observations/s) of a scale-1 and a scale-4 IMPALA policy on the GPU.

Tolerance (GPU vs CPU): ``|gpu - cpu| <= ABS_TOL + REL_TOL * max(|gpu|, |cpu|)`` with
ABS_TOL = 1e-4 and REL_TOL = 1e-3, applied to each record's ``estimate`` and ``ci`` bounds.
Why: estimates are means over 10-200 units of probabilities, probability changes,
accuracies, ratios or slopes. IEEE fp32 forward passes on two devices differ by ~1e-6
relative (summation order), about a hundred times below 1e-4 even after the subtractions of
paired designs. The smallest decision scale any claim uses is the 0.001 margin floor of
RS2/RS3 (0.1 percentage point of average change), whose estimates are themselves 5e-4..3e-3
on the bundled policy, so an absolute 1e-3 would hide a 100 % change there; 1e-4 is ten times
below that margin. REL_TOL covers the estimates far from 0 (CH3's ratios ~5, TR3's logits
~2). A flipped discrete outcome (one unit of n changing its hit or its sampled outcome) moves
an estimate by 1/n >= 0.005 and is always flagged; TF32 convolutions, which move
probabilities by ~1e-3, usually are too (the report's ``run.numerics``, printed after each
run, says which arithmetic ran). Verdicts must match exactly.

The last two lines of stdout are the contract: ``gpu_reports_identical=true|false`` and
``gpu_cpu_verdicts_agree=true|false``, after ``ground_truth_verdicts_hold=true|false`` when
the ground truth was checked. Exit status: 0 when both are true (and the ground truth, when
checked, holds), 1 otherwise, 2 when ``--device cuda`` is asked for and CUDA is not
available. ``--device cpu`` (or any non-CUDA device) runs the same pipeline on that device:
that tests this script on a CPU machine and is not a GPU check. pytest runs use
``-n min(cores, 4)`` (pytest-xdist; each worker holds a CUDA context) on machines with more
than two cores, with OMP_NUM_THREADS=1 unless set (one torch thread per worker). Reports and
pytest logs go to ``--out`` (run1/, run2/, cpu/, ground-truth/ and their .log files). A
claims run whose pytest exit status is 1 is normal: refuted and inconclusive claims are
failing or xfailed tests.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # harness imports (lazily) without an installed package
    sys.path.insert(0, str(REPO))
ABS_TOL = 1e-4
REL_TOL = 1e-3
#: The planted policy of the ground-truth step.
PLANTED = "cheese-seeker"
#: Observations per forward pass in the throughput measurement.
THROUGHPUT_BATCH = 256
#: Seconds between progress lines while a pytest run is under way.
HEARTBEAT_S = 15.0
#: pytest exit statuses after which the report is read (1: some claim refuted/inconclusive).
PYTEST_OK = (0, 1)
NO_CUDA = (
    "gpu_check: needs a CUDA GPU, but none is available (torch.cuda.is_available() is "
    "false); use --device cpu to test the check's pipeline without one"
)
MAX_LISTED = 20


class StepFailed(RuntimeError):
    """A pytest run that wrote no usable report (``status``: its exit status)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def load_script(relative: str) -> ModuleType:
    """A module of this repo loaded from its file (tests/ and benchmarks/ are no packages)."""
    path = REPO / relative
    name = "gpu_check_" + path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Outcome:
    """What the check found so far (a failed step leaves the rest False)."""

    ground_truth: bool | None = None  # None: not run, or no expectation selected
    identical: bool = False
    agree: bool = False

    @property
    def passed(self) -> bool:
        return self.identical and self.agree and self.ground_truth is not False


class Clock:
    """Progress lines stamped with the seconds since the check started."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def log(self, message: str) -> None:
        print(f"[{time.monotonic() - self.start:7.1f}s] {message}", flush=True)


# -- comparisons (pure functions of report dicts) ------------------------------------------


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def json_differences(a: Any, b: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Every leaf where two JSON documents differ, as (path, value in a, value in b)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}/{key}"
            if key not in a or key not in b:
                out.append((sub, a.get(key, "<absent>"), b.get(key, "<absent>")))
            else:
                out.extend(json_differences(a[key], b[key], sub))
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = [(f"{path}/len", len(a), len(b))] if len(a) != len(b) else []
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            out.extend(json_differences(x, y, f"{path}[{i}]"))
        return out
    return [] if _same_value(a, b) else [(path, a, b)]


def reports_identical(
    first: Mapping[str, Any], second: Mapping[str, Any]
) -> tuple[bool, list[str]]:
    """Whether two reports are equal after :func:`strip_timings`; the differences as lines."""
    from harness.report.build import strip_timings

    diffs = json_differences(strip_timings(first), strip_timings(second))
    return not diffs, [f"{p}: {a!r} != {b!r}" for p, a, b in diffs]


def within_tolerance(
    a: float | None, b: float | None, abs_tol: float = ABS_TOL, rel_tol: float = REL_TOL
) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= abs_tol + rel_tol * max(abs(a), abs(b))


def _numbers(claim: Mapping[str, Any]) -> dict[str, float | None]:
    low, high = [*(claim.get("ci") or ()), None, None][:2]
    return {"estimate": claim.get("estimate"), "ci_low": low, "ci_high": high}


def _error_lines(report: Mapping[str, Any], label: str) -> list[str]:
    return [
        f"{e.get('id') or e.get('nodeid')}: errored on {label} ({e.get('message', '')})"
        for e in report.get("errors", [])
    ]


def verdicts_agree(
    gpu: Mapping[str, Any],
    cpu: Mapping[str, Any],
    abs_tol: float = ABS_TOL,
    rel_tol: float = REL_TOL,
    labels: tuple[str, str] = ("cuda", "cpu"),
) -> tuple[bool, list[str]]:
    """Same record ids, same verdicts, estimates and interval bounds within tolerance, no
    errored claim; the records that differ as lines (each starts with the record id)."""
    g = {c["id"]: c for c in gpu.get("claims", [])}
    c = {c["id"]: c for c in cpu.get("claims", [])}
    problems = _error_lines(gpu, labels[0]) + _error_lines(cpu, labels[1])
    problems += [f"{i}: only in the {labels[0]} report" for i in sorted(set(g) - set(c))]
    problems += [f"{i}: only in the {labels[1]} report" for i in sorted(set(c) - set(g))]
    if not set(g) & set(c):
        problems.append("no claim record in both reports: nothing was compared")
    for rid in sorted(set(g) & set(c)):
        if g[rid].get("verdict") != c[rid].get("verdict"):
            problems.append(
                f"{rid}: verdict {g[rid].get('verdict')} on {labels[0]}, "
                f"{c[rid].get('verdict')} on {labels[1]}"
            )
        for name, a in _numbers(g[rid]).items():
            b = _numbers(c[rid])[name]
            if not within_tolerance(a, b, abs_tol, rel_tol):
                problems.append(f"{rid}: {name} {a!r} on {labels[0]}, {b!r} on {labels[1]}")
    return not problems, problems


def ground_truth_problems(report: Mapping[str, Any]) -> tuple[int, list[str]]:
    """(verdicts checked, wrong ones) of a planted run against its profile's expectations."""
    truth = load_script("tests/test_ground_truth.py")
    whole, by_case, undecided = truth.expectations(PLANTED)
    checked, wrong = 0, _error_lines(report, "the planted policy")
    for record in report.get("claims", []):
        expect = truth.expected_verdict(record, whole, by_case, undecided)
        if expect is None:
            continue
        checked += 1
        if record["verdict"] != expect:
            wrong.append(f"{record['id']}: {record['verdict']} (expected {expect})")
    return checked, wrong


# -- pytest runs ---------------------------------------------------------------------------


#: xdist workers at most: each holds its own CUDA context and copy of the policy.
MAX_WORKERS = 4


def xdist_args() -> list[str]:
    cores = os.cpu_count() or 1
    return ["-n", str(min(cores, MAX_WORKERS))] if cores > 2 else []


def pytest_env() -> dict[str, str]:
    """One torch thread per xdist worker (their default of all cores each oversubscribes)."""
    env = dict(os.environ)
    if xdist_args():
        env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _percent(log: Path) -> str:
    found = re.findall(r"\[\s*(\d+)%\]", log.read_text(errors="replace"))
    return f", {found[-1]} % of tests done" if found else ""


def run_pytest(args: list[str], report_dir: Path, step: str, clock: Clock) -> dict[str, Any]:
    """Run ``pytest <args> --report-dir report_dir`` from the repo root, logging progress;
    the report it wrote."""
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "report.json").unlink(missing_ok=True)
    log = report_dir.with_suffix(".log")
    cmd = [sys.executable, "-m", "pytest", *args, f"--report-dir={report_dir}", "-q"]
    cmd += ["-p", "no:cacheprovider", *xdist_args()]
    clock.log(f"{step}: start: {' '.join(cmd[1:])}")
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=pytest_env()
        )
        try:
            while True:
                try:
                    status = proc.wait(timeout=HEARTBEAT_S)
                    break
                except subprocess.TimeoutExpired:
                    elapsed = time.monotonic() - started
                    clock.log(f"{step}: running, {elapsed:.0f}s in this step{_percent(log)}")
        except BaseException:
            proc.terminate()
            proc.wait()
            raise
    path = report_dir / "report.json"
    if status not in PYTEST_OK or not path.is_file():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        message = f"{step}: pytest exit status {status}, no usable report ({log}):\n{tail}"
        raise StepFailed(message, status)
    report = json.loads(path.read_text())
    clock.log(f"{step}: done in {time.monotonic() - started:.1f}s, {_summary(report)}")
    return report


def _summary(report: Mapping[str, Any]) -> str:
    s, run = report.get("summary", {}), report.get("run", {})
    numerics = run.get("numerics")
    if isinstance(numerics, Mapping):
        numerics = numerics.get("description")
    return (
        f"{s.get('claims', 0)} records ({s.get('supported', 0)} supported, "
        f"{s.get('refuted', 0)} refuted, {s.get('inconclusive', 0)} inconclusive), "
        f"{s.get('errors', 0)} errors; ran on {run.get('device')}"
        + (f", numerics {numerics}" if numerics else "")
    )


def _k(base: str | None, extra: str | None) -> list[str]:
    expr = " and ".join(f"({e})" for e in (base, extra) if e)
    return ["-k", expr] if expr else []


def ground_truth_step(device: str, k: str | None, out: Path, clock: Clock) -> bool | None:
    """True/False: the planted verdicts hold or not; None: no expectation was selected."""
    whole, by_case, _ = load_script("tests/test_ground_truth.py").expectations(PLANTED)
    ids = " or ".join(sorted(set(whole) | set(by_case)))
    args = ["claims/", f"--checkpoint=planted:{PLANTED}", "--budget=quick", f"--device={device}"]
    args += ["--inconclusive=xfail", "--counterexamples=0", *_k(ids, k)]
    try:
        report = run_pytest(args, out / "ground-truth", "step 1/4 ground truth", clock)
    except StepFailed as exc:
        if exc.status == 5:  # pytest: no test selected
            clock.log(f"ground truth: no claim with a planted expectation matches -k {k!r}")
            return None
        print(f"FAILED: {exc}")
        return False
    checked, wrong = ground_truth_problems(report)
    clock.log(f"ground truth: {checked} verdicts checked, {len(wrong)} wrong")
    for line in wrong:
        print(f"  {line}")
    return None if checked == 0 and not wrong else not wrong


def suite_args(device: str, k: str | None) -> list[str]:
    return ["claims/", "--budget=quick", f"--device={device}", *_k(None, k)]


# -- throughput ----------------------------------------------------------------------------


def forward_throughput(
    scale: int, device: str, batch: int = THROUGHPUT_BATCH, budget_s: float = 2.0
) -> tuple[float, int]:
    """(obs/s, timed passes) of a random-weight IMPALA policy (bench_forward's, so scale 4
    has the original's 64/128/128 channels): 3 warm-up passes, then the median of as many
    passes as fit in ``budget_s`` (5..100); each pass is bracketed by
    ``torch.cuda.synchronize`` on CUDA (bench_forward's ``timed_forward``)."""
    import torch

    from harness.policy.numerics import prepare_device

    bench = load_script("benchmarks/bench_forward.py")
    dev, _ = prepare_device(device)  # the claims' strict numerics, not torch's defaults
    policy = bench.make_policy(scale, dev)
    obs = torch.rand(batch, 3, 64, 64, generator=torch.Generator().manual_seed(0)).to(dev)
    warm = [bench.timed_forward(policy, obs) for _ in range(3)]
    repeats = max(5, min(100, int(budget_s / max(warm[-1], 1e-6))))
    times = [bench.timed_forward(policy, obs) for _ in range(repeats)]
    return batch / statistics.median(times), repeats


def throughput_step(device: str, clock: Clock) -> None:
    for scale in (1, 4):
        rate, repeats = forward_throughput(scale, device)
        clock.log(
            f"step 4/4 throughput on {device}: scale {scale}: {rate:,.0f} obs/s "
            f"(batch {THROUGHPUT_BATCH}, median of {repeats} passes after 3 warm-up)"
        )


# -- main ----------------------------------------------------------------------------------


def cuda_available() -> bool:
    import torch  # the only import before the no-CUDA exit

    with warnings.catch_warnings():  # "CUDA initialization: ..." would be a second line
        warnings.simplefilter("ignore")
        return bool(torch.cuda.is_available())


def bad_cuda_device(device: str) -> str | None:
    """Why ``device`` is not a usable CUDA device here (e.g. cuda:3 of two), else None."""
    from harness.policy import DeviceError, resolve_device

    try:
        resolve_device(device)
    except DeviceError as exc:
        return str(exc)
    return None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda, cuda:<k>, or e.g. cpu (not a GPU check)")
    p.add_argument("-k", dest="k", default=None, metavar="EXPR", help="pytest -k for every run")
    p.add_argument("--out", type=Path, default=None, help="report directory (default: temp dir)")
    p.add_argument("--skip-ground-truth", action="store_true")
    p.add_argument("--skip-throughput", action="store_true")
    return p.parse_args(argv)


def describe_device(device: str, is_cuda: bool, clock: Clock) -> None:
    import torch

    if not is_cuda:
        clock.log(
            f"NOTE: --device {device}: this is NOT a GPU check; it runs the GPU check's "
            f"pipeline on {device} (to test the pipeline itself)"
        )
        return
    index = torch.device(device).index or 0
    clock.log(
        f"GPU check on {device}: {torch.cuda.get_device_name(index)}, torch {torch.__version__}, "
        f"CUDA {torch.version.cuda}, {os.cpu_count()} CPU cores"
    )


def print_lines(title: str, lines: list[str]) -> None:
    print(title)
    for line in lines[:MAX_LISTED]:
        print(f"  {line}")
    if len(lines) > MAX_LISTED:
        print(f"  ... and {len(lines) - MAX_LISTED} more")


def compare_step(
    first: dict[str, Any], second: dict[str, Any], cpu: dict[str, Any], device: str, clock: Clock
) -> tuple[bool, bool]:
    clock.log(f"step 3/4 compare: {device} run 1 with {device} run 2 and with the cpu run")
    identical, diffs = reports_identical(first, second)
    print_lines(f"{device} run 1 vs run 2 (timings stripped): {len(diffs)} differences", diffs)
    agree, problems = verdicts_agree(first, cpu, labels=(device, "cpu"))
    print_lines(
        f"{device} vs cpu (verdicts exact; estimate, ci within {ABS_TOL:g} + {REL_TOL:g} x "
        f"|value|): {len(problems)} records differ",
        problems,
    )
    return identical, agree


def run_check(args: argparse.Namespace, out: Path, clock: Clock, outcome: Outcome) -> None:
    if not args.skip_ground_truth:
        outcome.ground_truth = ground_truth_step(args.device, args.k, out, clock)
    dev = args.device
    first = run_pytest(suite_args(dev, args.k), out / "run1", f"step 2/4 {dev} run 1", clock)
    second = run_pytest(suite_args(dev, args.k), out / "run2", f"step 2/4 {dev} run 2", clock)
    cpu = run_pytest(suite_args("cpu", args.k), out / "cpu", "step 2/4 cpu reference", clock)
    outcome.identical, outcome.agree = compare_step(first, second, cpu, dev, clock)
    if not args.skip_throughput:
        throughput_step(dev, clock)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    is_cuda = args.device.strip().lower().startswith("cuda")
    if is_cuda and not cuda_available():
        print(NO_CUDA, file=sys.stderr)
        return 2
    if is_cuda and (problem := bad_cuda_device(args.device)):
        print(f"gpu_check: {problem}", file=sys.stderr)
        return 2
    clock = Clock()
    describe_device(args.device, is_cuda, clock)
    out = (args.out or Path(tempfile.mkdtemp(prefix="gpu-check-"))).resolve()
    clock.log(f"reports and logs: {out}")
    outcome = Outcome()
    try:
        run_check(args, out, clock, outcome)
    except StepFailed as exc:
        print(f"FAILED: {exc}")
    clock.log(f"finished; reports and logs in {out}")
    if outcome.ground_truth is not None:
        print(f"ground_truth_verdicts_hold={str(outcome.ground_truth).lower()}")
    print(f"gpu_reports_identical={str(outcome.identical).lower()}")
    print(f"gpu_cpu_verdicts_agree={str(outcome.agree).lower()}")
    return 0 if outcome.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
