"""The system under test's controller: `python -m confsvc serve` as a subprocess (stopped by
pid), and the few API calls the benchmark makes (kick, list, end conferences)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

TOKEN = "bench-token"
CUSTOMER = "bench"


class ControllerProcess:
    def __init__(
        self, sut_env: dict[str, str], http_port: int, workdir: Path, src: Path | None = None
    ) -> None:
        """src: a directory holding another confsvc package (a git revision's) to run."""
        self.workdir = workdir
        self.src = src
        self.base = f"http://127.0.0.1:{http_port}"
        self.env = {
            **sut_env,
            "CONFSVC_HTTP_PORT": str(http_port),
            "CONFSVC_DB_PATH": str(workdir / "confsvc.sqlite3"),
            "CONFSVC_DATA_DIR": str(workdir / "data"),
            "CONFSVC_TOKENS": f"{TOKEN}:{CUSTOMER}",
            "CONFSVC_AUTO_CREATE_ROOMS": "true",
            "CONFSVC_AUTO_CREATE_CUSTOMER": CUSTOMER,
            "CONFSVC_LOG_FORMAT": "json",
        }
        if src is not None:
            self.env["PYTHONPATH"] = str(src)
        self.log = workdir / "controller.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.http: aiohttp.ClientSession | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, timeout: float = 30) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as logf:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "confsvc",
                "serve",
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=logf,
                stderr=logf,
                cwd=str(self.src or self.workdir),  # never a directory with another confsvc/
            )
        self.http = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=aiohttp.ClientTimeout(total=15),
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.returncode is not None:
                raise RuntimeError(f"controller exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(aiohttp.ClientError):
                async with self.http.get(f"{self.base}/health") as r:
                    if r.status == 200 and (await r.json()).get("ari_connected"):
                        return
            if time.monotonic() > deadline:
                raise RuntimeError(f"controller not ready: {self.log.read_text()[-2000:]}")
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        """SIGTERM by pid, then SIGKILL if it has not gone within 10 s."""
        if self.http is not None:
            await self.http.close()
            self.http = None
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()

    async def api(self, method: str, path: str, **params: str) -> tuple[int, Any]:
        assert self.http is not None
        async with self.http.request(method, f"{self.base}/v1{path}", params=params) as r:
            return r.status, await r.json(content_type=None)

    async def list_all(self, path: str, **params: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(100):  # bounded paging
            extra = {"page_token": token} if token else {}
            status, body = await self.api("GET", path, page_size="100", **params, **extra)
            if status != 200:
                raise RuntimeError(f"GET {path}: {status} {body}")
            out.extend(body["result"])
            token = body.get("next_page_token")
            if not token:
                break
        return out

    async def live_conferences(self) -> dict[str, str]:
        """room -> conference id of the tenant's progressing conferences."""
        confs = await self.list_all("/conferences", status="progressing")
        return {c["room"]: c["id"] for c in confs}

    async def joined_calls(self, conference_id: str) -> dict[str, str]:
        """caller name (the load generator's call id) -> conferencecall id."""
        calls = await self.list_all(
            "/conferencecalls", conference_id=conference_id, status="joined"
        )
        return {c["caller"]["name"]: c["id"] for c in calls}

    async def kick(self, conferencecall_id: str) -> int:
        status, _ = await self.api("DELETE", f"/conferencecalls/{conferencecall_id}")
        return status

    async def end_conferences(self, rooms: set[str]) -> int:
        """DELETE the live conferences of these rooms (the scenario's, once it is over)."""
        ended = 0
        for room, conf_id in (await self.live_conferences()).items():
            if room in rooms:
                status, _ = await self.api("DELETE", f"/conferences/{conf_id}")
                ended += status == 200
        return ended
