"""The controller as a real process (python -m confsvc serve), so tests can kill -9 it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from confsvc.plivo_accounts import new_account
from tests.support.output_gate import gate_report
from tests.support.runtime import Runtime

TOKENS = {"tenant-a-token": "tenant-a", "tenant-b-token": "tenant-b"}


class ApiError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class Controller:
    def __init__(self, runtime: Runtime, workdir: Path, **settings: str) -> None:
        self.runtime = runtime
        self.workdir = workdir
        self.port = int(settings.get("CONFSVC_HTTP_PORT") or runtime.s("HTTP_PORT"))
        self.base = f"http://127.0.0.1:{self.port}"
        # Each tenant's Plivo account, generated per controller (Plivo SDK tests).
        self.plivo = {c: new_account(c) for c in TOKENS.values()}
        self.env = {
            **runtime.env,
            "CONFSVC_DB_PATH": str(workdir / "confsvc.sqlite3"),
            "CONFSVC_DATA_DIR": str(workdir / "data"),
            "CONFSVC_TOKENS": ",".join(f"{t}:{c}" for t, c in TOKENS.items()),
            "CONFSVC_PLIVO_ACCOUNTS": ",".join(
                f"{a.auth_id}:{a.auth_token}:{a.customer_id}" for a in self.plivo.values()
            ),
            "CONFSVC_AUTO_CREATE_CUSTOMER": "tenant-a",
            "CONFSVC_RUNTIME_ROOT": runtime.root,  # speech is made where Asterisk reads it
            "CONFSVC_LOG_FORMAT": "json",
            # The tests' receivers (webhooks, callbacks, sound files) listen on 127.0.0.1.
            "CONFSVC_OUTBOUND_ALLOW": "127.0.0.1/32",
            **settings,
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.log = workdir / "controller.log"

    async def start(self, timeout: float = 20, *, standby: bool = False) -> None:
        """Until /health says ARI is connected (standby: until it serves as a standby)."""
        # Another server on the port would answer the health check in our controller's place.
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError as exc:
                raise RuntimeError(f"HTTP port {self.port} is taken: {exc}") from None
        self.workdir.mkdir(parents=True, exist_ok=True)
        logf = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "confsvc",
            "serve",
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=logf,
            stderr=logf,
        )
        logf.close()
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"controller exited: {self.log.read_text()[-3000:]}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.base}/health") as r:
                        health = await r.json() if r.status == 200 else {}
                        if (
                            health.get("role") == "standby"
                            if standby
                            else health.get("ari_connected")
                        ):
                            return
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"controller not ready: {self.log.read_text()[-3000:]}")
                await asyncio.sleep(0.1)

    async def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()
        self.proc = None

    async def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        self.proc = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str = "tenant-a-token",
        json: Any = None,
        expect: int | None = None,
    ) -> Any:
        status, body = await self.raw(method, path, token=token, json=json)
        if expect is not None and status != expect:
            raise ApiError(status, body)
        return body

    async def raw(
        self, method: str, path: str, *, token: str = "tenant-a-token", json: Any = None
    ) -> tuple[int, Any]:
        """(status, JSON body) of one request."""
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, f"{self.base}{path}", json=json, headers=headers) as r,
        ):
            return r.status, await r.json(content_type=None)

    async def wait_for(self, path: str, pred: Any, timeout: float = 10, **kw: Any) -> Any:
        """Poll a GET until pred(body) holds; returns the body."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            body = await self.request("GET", path, **kw)
            if pred(body):
                return body
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting on {path}: last {body}")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_controller(
    runtime: Runtime, workdir: Path, **settings: str
) -> AsyncIterator[Controller]:
    """A started controller, stopped afterwards; one that cannot start FAILS the test, and
    so does one whose output shows an unhandled exception (tests/support/output_gate.py)."""
    ctl = Controller(runtime, workdir, **settings)
    try:
        await ctl.start()
    except Exception as exc:
        await ctl.stop()
        pytest.fail(f"could not start the controller: {exc}", pytrace=False)
    try:
        yield ctl
    except BaseException as exc:  # the test failed already: the tracebacks go with its error
        await ctl.stop()
        if report := gate_report(ctl.log):
            exc.add_note(report)
        raise
    await ctl.stop()
    if report := gate_report(ctl.log):
        pytest.fail(report, pytrace=False)
