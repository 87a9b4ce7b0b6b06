"""The sweep's pieces without a cluster: resources per unit, checkpoint transfer, the
fingerprint check, resume decisions, and one Ray task body run in this process."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.sweep import transfer
from harness.sweep.fingerprint import Fingerprint, fingerprint
from harness.sweep.plan import SweepError, Unit
from harness.sweep.ray_engine import (
    UnitResources,
    check_fits,
    check_reachable,
    import_ray,
    unit_resources,
)
from harness.sweep.ray_worker import run_unit_task
from harness.sweep.resume import RECORD_NAME, unit_record, why_not_done, write_unit_record
from harness.sweep.transfer import Shipment, TransferError, read_for_shipping, worker_checkpoint

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "harness" / "checkpoints" / "maze-bc-default.pth"


# -- resources ----------------------------------------------------------------------------
def test_unit_resources_follow_the_pytest_options():
    assert unit_resources([]) == UnitResources(1.0, 0.0)
    assert unit_resources(["-n", "2"]) == UnitResources(2.0, 0.0)
    assert unit_resources(["--device", "cuda"]) == UnitResources(1.0, 1.0)
    assert unit_resources(["--device=cuda:0"], gpus=0.5) == UnitResources(1.0, 0.5)
    assert unit_resources(["-n", "auto"], cpus=4) == UnitResources(4.0, 0.0)
    assert unit_resources([], gpus=1) == UnitResources(1.0, 1.0)  # --device auto may use it


@pytest.mark.parametrize(
    ("args", "cpus", "gpus", "message"),
    [
        (["-n", "auto"], None, None, "--cpus-per-unit"),
        (["--device", "cuda:1"], None, None, "pass --device cuda"),
        (["--device", "cuda"], None, 0.0, "would see no GPU"),
        (["--device", "cpu"], None, 1.0, "use no GPU"),
        ([], None, 1.5, "below 1"),
    ],
)
def test_unit_resources_refuse_what_cannot_work(args, cpus, gpus, message):
    with pytest.raises(SweepError, match=message):
        unit_resources(args, cpus, gpus)


class _FakeRay:
    def __init__(self, nodes):
        self._nodes = nodes

    def nodes(self):
        return self._nodes


def test_units_no_node_can_hold_are_refused_instead_of_pending_forever():
    nodes = [{"Alive": True, "Resources": {"CPU": 2.0}}, {"Alive": False, "Resources": {"CPU": 8}}]
    check_fits(_FakeRay(nodes), UnitResources(2.0))
    with pytest.raises(SweepError, match=r"needs 4 CPU \(nodes: 2 CPU, 0 GPU\)"):
        check_fits(_FakeRay(nodes), UnitResources(4.0))
    with pytest.raises(SweepError, match="1 CPU and 1 GPU"):
        check_fits(_FakeRay(nodes), UnitResources(1.0, 1.0))


def test_an_address_nobody_listens_on_is_refused_at_once():
    with socket.socket() as listener:  # a free port, closed again: nothing listens there
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        with pytest.raises(SweepError, match=f"cannot reach Ray at {address}: .*ray start"):
            check_reachable(address, timeout=2)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        check_reachable(f"127.0.0.1:{listener.getsockname()[1]}", timeout=2)
    check_reachable("auto")  # left to Ray


def test_without_ray_the_engine_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(SweepError, match=r"pip install -e '\.\[ray\]'"):
        import_ray(local=False)


def test_ray_options_with_the_local_engine_are_refused(tmp_path, capsys):
    argv = ["sweep", "default", "--out", str(tmp_path / "o"), "--retries", "2"]
    assert main(argv) == 2
    assert "--retries only apply to --engine ray" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# -- checkpoint transfer ------------------------------------------------------------------
@pytest.fixture
def worker_tmp(tmp_path, monkeypatch) -> Path:
    """The worker's cache of shipped copies."""
    monkeypatch.setattr(transfer, "cache_root", lambda: tmp_path / "worker")
    return tmp_path / "worker"


def test_a_worker_reads_the_drivers_file_when_it_is_the_same(tmp_path, worker_tmp):
    src = tmp_path / "policy-7.pth"
    src.write_bytes(b"weights")
    shipment, data = read_for_shipping(str(src))
    assert shipment.sha256 == hashlib.sha256(b"weights").hexdigest() and data == b"weights"
    assert worker_checkpoint(shipment, data) == (str(src), None)
    assert not worker_tmp.exists()


def test_a_worker_without_the_file_reads_a_verified_copy(tmp_path, worker_tmp):
    src = tmp_path / "policy-7.pth"
    src.write_bytes(b"weights")
    shipment, data = read_for_shipping(str(src))
    src.write_bytes(b"other weights")  # the path holds another file here
    path, note = worker_checkpoint(shipment, data)
    assert Path(path) == worker_tmp / shipment.sha256 / "policy-7.pth"
    assert Path(path).read_bytes() == b"weights" and "object store" in note
    src.unlink()
    assert worker_checkpoint(shipment, data, "object-store")[0] == path  # cached, re-verified


def test_bytes_that_do_not_match_the_drivers_hash_are_refused(tmp_path, worker_tmp):
    shipment = Shipment(str(tmp_path / "gone.pth"), hashlib.sha256(b"weights").hexdigest(), 7)
    with pytest.raises(TransferError, match="arrived with sha256"):
        worker_checkpoint(shipment, b"weightz")
    assert not list(worker_tmp.rglob("*.pth"))
    assert read_for_shipping(str(tmp_path / "gone.pth")) is None


# -- fingerprint --------------------------------------------------------------------------
def test_fingerprint_names_what_differs():
    here = fingerprint()
    assert here == fingerprint() and here.differences(here) == []
    env = dict(here.environment)
    other = Fingerprint("0" * 64, tuple({**env, "torch": "9.9"}.items()))
    diff = here.differences(other)
    assert diff[0].startswith(f"code {here.code[:12]} vs 000000000000")
    assert diff[1] == f"torch {env['torch']} vs 9.9"


class _Starts:
    """Stands in for the driver's StartLog actor handle."""

    def __init__(self):
        self.names = []
        self.started = self

    def remote(self, name):
        self.names.append(name)


def test_a_worker_with_other_code_fails_its_unit_without_running_it():
    unit = Unit("default", "default", ("-k", "TR2"))
    driver = Fingerprint("f" * 64, fingerprint().environment)
    starts = _Starts()
    outcome = run_unit_task(unit, None, None, starts, driver, "auto", False)
    assert starts.names == ["default"]
    assert not outcome.ok and outcome.returncode is None
    assert "runs another maze-claims than the driver" in outcome.error
    assert "install the same checkout" in outcome.error


def test_a_task_runs_the_claims_on_a_shipped_copy(tmp_path, worker_tmp):
    """The Ray task body in this process, forced to read the object store's bytes: the
    report names the copy and has the original's sha256."""
    src = tmp_path / "policy-bc.pth"
    shutil.copyfile(BUNDLED, src)
    shipment, data = read_for_shipping(str(src))
    unit = Unit(str(src), "policy-bc", ("-k", "TR2", "--budget", "quick"))
    outcome = run_unit_task(unit, shipment, data, _Starts(), fingerprint(), "object-store", False)
    assert outcome.ok, outcome.error
    report = json.loads(outcome.files["report.json"])
    copy = worker_tmp / shipment.sha256 / "policy-bc.pth"
    assert report["run"]["checkpoint"] == f"{copy} ({copy})"
    assert report["run"]["checkpoint_sha256"] == shipment.sha256
    assert [c["claim_id"] for c in report["claims"]] == ["TR2"]
    assert "pytest.log" in outcome.files and str(copy) in outcome.checkpoint_note


# -- resume -------------------------------------------------------------------------------
def _finished(directory: Path, unit: Unit, sha256: str | None, fp: Fingerprint) -> None:
    directory.mkdir(parents=True)
    report = {"run": {"checkpoint_sha256": sha256}}
    (directory / "report.json").write_text(json.dumps(report))
    record = unit_record(
        unit, report, fp, engine="ray", attempts=1, seconds=1.5, checkpoint_note=None
    )
    write_unit_record(directory, record)


def test_resume_skips_only_the_same_checkpoint_options_and_code(tmp_path):
    fp = fingerprint()
    src = tmp_path / "p.pth"
    src.write_bytes(b"weights")
    sha = hashlib.sha256(b"weights").hexdigest()
    unit = Unit(str(src), "p", ("-k", "CV1"))
    done = tmp_path / "out" / "p"
    assert why_not_done(unit, done, fp) == "not run yet"
    _finished(done, unit, sha, fp)
    assert why_not_done(unit, done, fp) is None
    assert "other options" in why_not_done(Unit(str(src), "p", ("-k", "CV2")), done, fp)
    other_code = Fingerprint("0" * 64, fp.environment)
    assert why_not_done(unit, done, other_code) == "its report came from other code"
    src.write_bytes(b"retrained")
    assert "sha256 differs" in why_not_done(unit, done, fp)
    (done / RECORD_NAME).unlink()
    assert why_not_done(unit, done, fp) == "no finished report there"


def test_resume_compares_named_checkpoints_by_name(tmp_path):
    fp = fingerprint()
    unit = Unit("planted:cheese-blind", "x", ())
    _finished(tmp_path / "x", unit, "ab" * 32, fp)
    assert why_not_done(unit, tmp_path / "x", fp) is None
    seeker = Unit("planted:cheese-seeker", "x", ())
    assert why_not_done(seeker, tmp_path / "x", fp) == "its report is of planted:cheese-blind"
