"""The HTML report in a real browser: headless Chromium loads it from a file, reports no
console errors or failed loads, decodes every figure, and takes a screenshot.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: the
browser reads commands on fd 3 and writes replies on fd 4), so no network port and no extra
package are needed. A page with a deliberate error checks that errors are caught at all.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.claim.handle import record_result
from harness.report.build import build_report
from harness.report.record import ClaimRecord
from harness.report.writer import write_report
from harness.stats import equivalence, paired_difference, trend

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
]


def console_errors(events: list[dict]) -> list[str]:
    """Script exceptions, console errors and error log entries among a page's events."""
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(str(params.get("args")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append(params["entry"].get("text", ""))
    return errors


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it")


class Browser:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, binary: str, profile_dir: Path) -> None:
        low_r, self._to_browser = os.pipe()
        self._from_browser, low_w = os.pipe()
        # Above fd 4 so that placing them on fds 3 and 4 cannot overwrite one another.
        to_browser_r = fcntl.fcntl(low_r, fcntl.F_DUPFD_CLOEXEC, 10)
        from_browser_w = fcntl.fcntl(low_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(low_r)
        os.close(low_w)
        # A tiny single-threaded Python puts the pipe ends on fds 3 (commands in) and 4
        # (replies out) and becomes Chromium: no preexec_fn, unsafe in threaded xdist workers.
        wire = (
            "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
            "os.execv(sys.argv[3], sys.argv[3:])"
        )
        command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "about:blank"]
        self.process = subprocess.Popen(
            [sys.executable, "-c", wire, str(to_browser_r), str(from_browser_w), *command],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(to_browser_r, from_browser_w),
        )
        for fd in (to_browser_r, from_browser_w):
            os.close(fd)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from_browser], [], [], remaining)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the debugging pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            self.send("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


def load_page(binary: str, page: Path, profile_dir: Path, screenshot: Path) -> dict[str, Any]:
    """Open ``page``; return console errors, failed loads, image stats, and a screenshot."""
    browser = Browser(binary, profile_dir)
    try:
        targets = browser.send("Target.getTargets")["targetInfos"]
        target = next(t for t in targets if t["type"] == "page")
        session = browser.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.events.clear()
        browser.send("Page.navigate", {"url": page.as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        images = browser.send(
            "Runtime.evaluate",
            {
                "expression": "JSON.stringify({count: document.images.length, broken: "
                "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                ".length, title: document.title})",
                "returnByValue": True,
            },
            session=session,
        )["result"]["value"]
        shot = browser.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True},
            session=session,
        )
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        errors = console_errors(browser.events)
        return {"errors": errors, "images": json.loads(images)}
    finally:
        browser.close()


def sample_report(directory: Path) -> Path:
    rng = np.random.default_rng(0)
    records = []
    for claim_id, result in (
        ("CV1", paired_difference(rng.normal(0.5, 0.2, 40), threshold=0.1)),
        ("CV2", equivalence(rng.normal(0.0, 0.02, 40), margin=0.05)),
        ("CV4", trend(0.5 - 0.1 * np.arange(5) + rng.normal(0, 0.05, (30, 5)), np.arange(5.0))),
    ):
        rec = ClaimRecord(claim_id, claim_id, f"t::{claim_id}", f"title <{claim_id}>", "s", "h")
        record_result(rec, result, seeds=list(range(result.n)))
        records.append(rec)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))
    fig.subplots().quiver([0, 1], [0, 1], [1, 0], [0, 1])
    records[0].add_figure("vector field", fig)
    report = build_report(records, options={"alpha": 0.05})
    return write_report(report, records, directory)["html"]


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_binary()


def test_report_page_loads_cleanly_in_chromium(chromium, tmp_path):
    page = sample_report(tmp_path / "report")
    screenshot = tmp_path / "screenshot.png"
    result = load_page(chromium, page, tmp_path / "profile", screenshot)
    assert result["errors"] == []
    assert result["images"]["title"] == "maze-claims report"
    assert result["images"]["count"] == 5  # forest plot, 3 distributions, 1 claim figure
    assert result["images"]["broken"] == 0
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 10_000


def test_the_check_catches_console_errors_and_broken_images(chromium, tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        '<img src="missing.png"><script>console.error("boom")</script></body></html>'
    )
    result = load_page(chromium, page, tmp_path / "profile", tmp_path / "bad.png")
    assert any("boom" in e for e in result["errors"])
    assert any("missing.png" in e or "ERR_FILE_NOT_FOUND" in e for e in result["errors"])
    assert result["images"]["broken"] == 1
