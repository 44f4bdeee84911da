"""Client mistakes and a busy port end in one clear log line, never a traceback: the
controller as a real process (python -m confsvc serve), with no Asterisk behind it."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.output_gate import unhandled_errors
from tests.support.phone import free_port

READY_WITHIN = 15.0


def serve(tmp_path: Path, http_port: int, **settings: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFSVC_")}
    env.update(
        CONFSVC_HTTP_PORT=str(http_port),
        CONFSVC_ARI_PORT=str(free_port()),  # nothing listens: ARI stays unreachable
        CONFSVC_ARI_PASSWORD=secrets.token_urlsafe(16),  # generated per run, never a constant
        CONFSVC_DB_PATH=str(tmp_path / "confsvc.sqlite3"),
        CONFSVC_DATA_DIR=str(tmp_path / "data"),
        CONFSVC_TOKENS="t:tenant",
        CONFSVC_LOG_FORMAT="json",
        **settings,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "confsvc", "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def listener() -> Iterator[int]:
    """A port somebody else already listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_busy_port_ends_the_controller_with_one_line(tmp_path: Path, listener: int) -> None:
    proc = serve(tmp_path, listener)
    out, _ = proc.communicate(timeout=READY_WITHIN)
    assert proc.returncode == 1, out
    assert '"cannot listen"' in out and str(listener) in out
    assert unhandled_errors(out) == []


def wait_listening(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the controller did not listen")


def test_a_malformed_request_gets_400_and_no_traceback(tmp_path: Path) -> None:
    port = free_port()
    proc = serve(tmp_path, port)
    try:
        wait_listening(port, proc)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Probe: \x00\r\n\r\n")
            answer = s.recv(4096)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=READY_WITHIN)
    assert answer.split(b" ", 2)[1] == b"400", answer
    assert "malformed request refused (400" in out
    assert unhandled_errors(out) == []


def test_an_unreachable_database_ends_the_controller_with_one_line(tmp_path: Path) -> None:
    url = f"postgresql://confsvc:x@127.0.0.1:{free_port()}/confsvc"  # nobody listens
    proc = serve(tmp_path, free_port(), CONFSVC_DB_URL=url)
    out, _ = proc.communicate(timeout=READY_WITHIN)
    assert proc.returncode == 1, out
    assert '"cannot open the store"' in out and "x@" not in out
    assert unhandled_errors(out) == []


def test_an_unknown_database_url_is_refused_before_start(tmp_path: Path) -> None:
    proc = serve(tmp_path, free_port(), CONFSVC_DB_URL="mysql://db/confsvc")
    out, _ = proc.communicate(timeout=READY_WITHIN)
    assert proc.returncode == 2 and "CONFSVC_DB_URL" in out, out
