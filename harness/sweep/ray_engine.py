"""Units as Ray tasks: resources per unit, retries of dead workers, checkpoints shipped.

Without ``--address`` the engine starts a Ray instance of its own on this machine, bound to
the loopback interface, and shuts it down afterwards; with one it joins that cluster (for
example ``--address auto`` on a node of a cluster started with ``ray start``). Each unit is
one task asking for ``--cpus-per-unit`` CPUs (default: the ``-n`` given to pytest, else 1)
and, when the units run on CUDA, ``--gpus-per-unit`` GPUs (default 1; a fraction such as
0.5 puts several units on one GPU). A task whose worker dies is run again by Ray, up to
``--retries`` times; a unit that fails for a reason (a bad checkpoint) is not.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.sweep.engines import Event, Finished, Started
from harness.sweep.fingerprint import fingerprint
from harness.sweep.plan import SweepError, Unit, pytest_option
from harness.sweep.ray_worker import run_unit_task
from harness.sweep.transfer import TRANSFERS, read_for_shipping
from harness.sweep.unit import UnitOutcome

RAY_MISSING = "--engine ray needs Ray, an optional extra: pip install -e '.[ray]'"
#: A local instance is reachable from this machine only (Ray's single-node mode binds every
#: server to the loopback interface) and sends no usage statistics.
LOCAL_INSTANCE_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
DEFAULT_RETRIES = 3
POLL_SECONDS = 0.5
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class UnitResources:
    """What one unit's task asks the Ray scheduler for."""

    num_cpus: float
    num_gpus: float = 0.0

    def __str__(self) -> str:
        gpus = f" and {self.num_gpus:g} GPU" if self.num_gpus else ""
        return f"{self.num_cpus:g} CPU{gpus}"

    def fits(self, node: dict[str, float]) -> bool:
        return node.get("CPU", 0) >= self.num_cpus and node.get("GPU", 0) >= self.num_gpus


def unit_resources(
    pytest_args: Sequence[str], cpus: float | None = None, gpus: float | None = None
) -> UnitResources:
    """The resources of the units' claims runs, from their pytest options unless given."""
    device = pytest_option(pytest_args, "--device") or "auto"
    workers = pytest_option(pytest_args, "-n", "--numprocesses")
    if cpus is None:
        if workers is not None and not workers.isdigit():
            raise SweepError(
                f"-n {workers} under --engine ray: say how many CPUs one unit takes "
                "with --cpus-per-unit"
            )
        cpus = max(1, int(workers or 1))
    cuda = device.startswith("cuda")
    if cuda and device not in ("cuda", "cuda:0"):
        raise SweepError(
            f"--device {device} under --engine ray: a task sees the GPUs Ray assigned to it "
            "from cuda:0 on; pass --device cuda"
        )
    if gpus is None:
        gpus = 1.0 if cuda else 0.0
    if gpus > 1 and not float(gpus).is_integer():
        raise SweepError(f"--gpus-per-unit {gpus:g}: a fraction must be below 1 (Ray's rule)")
    if cuda and gpus == 0:
        raise SweepError("--device cuda with --gpus-per-unit 0: the task would see no GPU")
    if device == "cpu" and gpus > 0:
        raise SweepError(f"--gpus-per-unit {gpus:g} with --device cpu: the units use no GPU")
    return UnitResources(float(cpus), float(gpus))


def import_ray(local: bool) -> Any:
    if local:
        for key, value in LOCAL_INSTANCE_ENV.items():
            os.environ.setdefault(key, value)
    try:
        import ray
    except ImportError:
        raise SweepError(RAY_MISSING) from None
    return ray


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse a ``host:port`` (or ``ray://host:port``) that accepts no connection: Ray itself
    would retry for many minutes before giving up."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # 'auto' and other forms: Ray resolves and reports them itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise SweepError(
            f"cannot reach Ray at {address}: {exc.strerror or exc} (is the head running, "
            "e.g. 'ray start --head', and is the port right?)"
        ) from None


def connect(ray: Any, address: str | None, verbose: bool) -> None:
    """Start a local instance (``address`` None) or join the cluster at ``address``."""
    if address is not None:
        check_reachable(address)
    common = {"log_to_driver": verbose, "logging_level": logging.WARNING}
    try:
        if address is None:
            ray.init(address="local", include_dashboard=False, **common)
        else:
            ray.init(address=address, **common)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = "start a local Ray instance" if address is None else f"reach Ray at {address}"
        raise SweepError(f"cannot {where}: {str(exc).splitlines()[0]}") from None


def check_fits(ray: Any, resources: UnitResources) -> None:
    """Refuse units that no node could ever run (Ray would leave them pending forever)."""
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    if not any(resources.fits(node) for node in nodes):
        have = "; ".join(
            f"{node.get('CPU', 0):g} CPU, {node.get('GPU', 0):g} GPU" for node in nodes
        )
        raise SweepError(
            f"no node of the Ray cluster can run a unit that needs {resources} (nodes: "
            f"{have or 'none'}); lower --cpus-per-unit / --gpus-per-unit or add such a node"
        )


def _failure(exc: BaseException) -> UnitOutcome:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return UnitOutcome.failed(f"Ray: {type(exc).__name__}: {(lines or [''])[0][:300]}")


@dataclass(frozen=True)
class RayEngine:
    resources: UnitResources
    address: str | None = None
    retries: int = DEFAULT_RETRIES
    transfer: str = "auto"
    verbose: bool = False
    name: str = "ray"

    def __post_init__(self) -> None:
        if self.transfer not in TRANSFERS:
            raise SweepError(f"--checkpoint-transfer must be one of {TRANSFERS}")

    def run(
        self, units: Sequence[Unit], staging: Callable[[Unit], Path]
    ) -> Generator[Event, None, None]:
        """Submit every unit, then report starts and results as they come."""
        del staging  # the worker's report comes back as files
        if not units:
            return
        ray = import_ray(local=self.address is None)
        # Ray prints its notices (a worker died, a task is retried) to stdout, where the
        # sweep's own lines go: send them to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            connect(ray, self.address, self.verbose)
            try:
                check_fits(ray, self.resources)
                yield from self._run(ray, units)
            finally:
                ray.shutdown()

    def _run(self, ray: Any, units: Sequence[Unit]) -> Generator[Event, None, None]:
        starts = ray.remote(num_cpus=0)(StartLog).remote()
        task = ray.remote(run_unit_task).options(
            num_cpus=self.resources.num_cpus,
            num_gpus=self.resources.num_gpus,
            max_retries=self.retries,
            retry_exceptions=False,
        )
        driver = fingerprint()
        by_name = {unit.name: unit for unit in units}
        refs = {}
        for unit in units:
            shipped = read_for_shipping(unit.checkpoint) if unit.is_file else None
            shipment, data = (None, None) if shipped is None else (shipped[0], ray.put(shipped[1]))
            ref = task.remote(unit, shipment, data, starts, driver, self.transfer, self.verbose)
            refs[ref] = unit
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=POLL_SECONDS)
                for name in ray.get(starts.take.remote()):
                    if name in by_name:
                        yield Started(by_name[name])
                for ref in done:
                    try:
                        outcome = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        outcome = _failure(exc)
                    unit = refs.pop(ref)
                    del by_name[unit.name]  # a start message arriving late is not a new start
                    yield Finished(unit, outcome)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)


class StartLog:
    """A Ray actor that collects "unit started" messages from the tasks, one per attempt.

    Tasks call it without waiting for the answer: a task blocked in ``ray.get`` lends its
    CPUs to the scheduler, which would start another unit on them.
    """

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, name: str) -> None:
        self.names.append(name)

    def take(self) -> list[str]:
        names, self.names = self.names, []
        return names
