"""fetch-checkpoint against a local HTTP server: success, resume, failures, checksums, CLI."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest
import torch

from harness.cli import main
from harness.policy import ImpalaPolicy, save_policy
from harness.policy import fetch as F
from harness.policy.fetch import (
    ChecksumMismatchError,
    DownloadError,
    FetchError,
    InvalidDownloadError,
    UnpinnedChecksumError,
    default_cache_dir,
    fetch_checkpoint,
)

NAME = "model_rand_region_5.pth"  # the real file name: exercises the (unpinned) pin table


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.payload`` at /<NAME>; behaviour set by attributes of the server."""

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        srv = self.server
        srv.requests.append(self.headers.get("Range"))
        if self.path != f"/{NAME}":
            self.send_error(404, "Not Found")
            return
        data = srv.payload
        start = 0
        rng = self.headers.get("Range")
        if rng and srv.ranges:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.drops > 0:  # announce the whole body, send part of it, hang up
            srv.drops -= 1
            self.wfile.write(body[: srv.drop_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


class Server:
    def __init__(self, payload: bytes) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.payload = payload
        self.httpd.requests = []
        self.httpd.ranges = True
        self.httpd.drops = 0
        self.httpd.drop_after = 0
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{NAME}"

    def __getattr__(self, name):
        return getattr(self.httpd, name)

    def configure(self, **kwargs) -> None:
        for k, v in kwargs.items():
            setattr(self.httpd, k, v)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("ckpt") / "model.pth"
    torch.manual_seed(0)
    save_policy(ImpalaPolicy(scale=1), path)
    return path.read_bytes()


@pytest.fixture
def server(checkpoint):
    srv = Server(checkpoint)
    yield srv
    srv.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(server: Server, cache: Path, **kwargs):
    return fetch_checkpoint(server.url, cache_dir=cache, backoff=0.0, timeout=10, **kwargs)


# --------------------------------------------------------------------------- success
def test_download_verify_and_reuse_the_cache(server, checkpoint, tmp_path):
    result = fetch(server, tmp_path, sha256=sha(checkpoint))
    assert result.path == tmp_path / NAME and result.path.read_bytes() == checkpoint
    assert result.pinned and not result.from_cache and not result.resumed
    assert result.sha256 == sha(checkpoint) and result.bytes_downloaded == len(checkpoint)
    assert not (tmp_path / f"{NAME}.part").exists()
    again = fetch(server, tmp_path, sha256=sha(checkpoint).upper())
    assert again.from_cache and len(server.requests) == 1  # no second request


def test_unpinned_download_needs_confirmation_without_downloading_twice(
    server, checkpoint, tmp_path
):
    assert F.PINNED_SHA256[NAME] is None  # nobody could download the original here
    with pytest.raises(UnpinnedChecksumError) as info:
        fetch(server, tmp_path)
    assert info.value.got == sha(checkpoint)
    assert sha(checkpoint) in str(info.value) and "--sha256" in str(info.value)
    assert not (tmp_path / NAME).exists() and (tmp_path / f"{NAME}.part").exists()
    confirmed = fetch(server, tmp_path, sha256=info.value.got)
    assert confirmed.path.read_bytes() == checkpoint and confirmed.pinned
    assert len(server.requests) == 1


def test_accept_unpinned_keeps_the_file(server, checkpoint, tmp_path):
    result = fetch(server, tmp_path, accept_unpinned=True)
    assert result.path.read_bytes() == checkpoint and not result.pinned


def test_pinned_hash_from_the_table_is_enforced(server, checkpoint, tmp_path, monkeypatch):
    monkeypatch.setitem(F.PINNED_SHA256, NAME, sha(checkpoint))
    assert fetch(server, tmp_path).pinned
    monkeypatch.setitem(F.PINNED_SHA256, NAME, "ab" * 32)
    with pytest.raises(ChecksumMismatchError, match="cached"):
        fetch(server, tmp_path)


# --------------------------------------------------------------------------- checksums
def test_checksum_mismatch_deletes_the_download(server, checkpoint, tmp_path):
    wrong = "0" * 64
    with pytest.raises(ChecksumMismatchError) as info:
        fetch(server, tmp_path, sha256=wrong)
    assert (info.value.expected, info.value.got) == (wrong, sha(checkpoint))
    assert not (tmp_path / NAME).exists() and not (tmp_path / f"{NAME}.part").exists()


def test_malformed_hash_is_rejected_before_any_request(server, tmp_path):
    with pytest.raises(FetchError, match="64 hex"):
        fetch(server, tmp_path, sha256="not-a-hash")
    assert server.requests == []


def test_a_file_that_is_not_a_policy_is_refused(server, tmp_path):
    junk = b"<html>this is an error page, not a checkpoint</html>"
    server.configure(payload=junk)
    with pytest.raises(InvalidDownloadError, match="not a usable policy checkpoint"):
        fetch(server, tmp_path, sha256=sha(junk))
    assert not (tmp_path / f"{NAME}.part").exists() and not (tmp_path / NAME).exists()


# --------------------------------------------------------------------------- resume and failures
def test_dropped_connection_keeps_the_part_and_a_rerun_resumes(server, checkpoint, tmp_path):
    cut = len(checkpoint) // 3
    server.configure(drops=1, drop_after=cut)
    with pytest.raises(DownloadError, match="re-run to resume"):
        fetch(server, tmp_path, sha256=sha(checkpoint), retries=0)
    assert (tmp_path / f"{NAME}.part").stat().st_size == cut
    result = fetch(server, tmp_path, sha256=sha(checkpoint))
    assert result.resumed and result.bytes_downloaded == len(checkpoint) - cut
    assert server.requests[-1] == f"bytes={cut}-"
    assert result.path.read_bytes() == checkpoint


def test_retries_resume_within_one_call(server, checkpoint, tmp_path):
    server.configure(drops=2, drop_after=100_000)
    result = fetch(server, tmp_path, sha256=sha(checkpoint), retries=3)
    assert result.resumed and result.path.read_bytes() == checkpoint
    assert server.requests == [None, "bytes=100000-", "bytes=200000-"]


def test_server_without_range_support_restarts_from_scratch(server, checkpoint, tmp_path):
    (tmp_path / f"{NAME}.part").write_bytes(checkpoint[:5000])
    server.configure(ranges=False)
    result = fetch(server, tmp_path, sha256=sha(checkpoint))
    assert not result.resumed and result.path.read_bytes() == checkpoint


def test_complete_part_is_recognised_by_the_server(server, checkpoint, tmp_path):
    (tmp_path / f"{NAME}.part").write_bytes(checkpoint)
    result = fetch(server, tmp_path, accept_unpinned=True)
    assert result.path.read_bytes() == checkpoint and result.bytes_downloaded == 0


def test_persistent_failure_gives_up_after_the_retries(server, checkpoint, tmp_path):
    server.configure(ranges=False, drops=10, drop_after=1000)
    with pytest.raises(DownloadError, match="after 2 retries"):
        fetch(server, tmp_path, sha256=sha(checkpoint), retries=2)
    assert len(server.requests) == 3


def test_http_errors_are_not_retried(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch_checkpoint(server.url.replace(NAME, "other.pth"), cache_dir=tmp_path, backoff=0.0)
    assert len(server.requests) == 1


def test_unreachable_host(tmp_path):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = srv.server_address[1]
    srv.server_close()  # nothing listens there now
    with pytest.raises(DownloadError, match="nothing kept"):
        fetch_checkpoint(
            f"http://127.0.0.1:{port}/{NAME}", cache_dir=tmp_path, retries=1, backoff=0.0
        )


# --------------------------------------------------------------------------- cache dir and CLI
def test_cache_dir_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(F.CACHE_ENV, str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv(F.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "maze-claims"


def test_cli_exit_codes_and_output(server, checkpoint, tmp_path, capsys):
    args = ["fetch-checkpoint", "--url", server.url, "--cache-dir", str(tmp_path)]
    assert main(args) == 3  # downloaded, not pinned: prints the hash, not put in the cache
    out = capsys.readouterr()
    assert f"sha256 {sha(checkpoint)}" in out.out and "--accept-unpinned" in out.err
    assert main([*args, "--sha256", "f" * 64]) == 1
    assert "expected " + "f" * 64 in capsys.readouterr().err
    assert main([*args, "--sha256", sha(checkpoint)]) == 0
    out = capsys.readouterr().out
    assert f"path {tmp_path / NAME}" in out and f"sha256 {sha(checkpoint)}" in out


def test_cli_rejects_unknown_commands():
    with pytest.raises(SystemExit) as info:
        main(["no-such-command"])
    assert info.value.code == 2
