"""The system under test's controller: `python -m confsvc serve` as a subprocess (stopped by
pid), and the few API calls the benchmark makes (create, kick, list, end conferences;
webhooks). Two tenants: `bench` (the rooms dialled in) and `bench-backlog` (the webhook
backlog scenario, so its load is one tenant's and the other's API can be timed)."""

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

PROJECT = Path(__file__).resolve().parent.parent

TOKEN = "bench-token"
CUSTOMER = "bench"
BACKLOG_TOKEN = "bench-backlog-token"
BACKLOG_CUSTOMER = "bench-backlog"
# Extensions the bench asks for; a controller that does not know a setting ignores it.
EXTRA_SETTINGS = {
    # The outbound URL policy refuses loopback URLs unless allowed: the bench's webhook
    # receiver listens on 127.0.0.1.
    "CONFSVC_OUTBOUND_ALLOW": "127.0.0.1/32",
    # A room ceiling above the seed's 20 (Plivo maxMembers 1-20), for the town hall: not a
    # setting of confsvc today (README Benchmark), so the town hall's ARI row is capped.
    "CONFSVC_MAX_PARTICIPANTS": "200",
}


class ControllerProcess:
    def __init__(
        self,
        sut_env: dict[str, str],
        http_port: int,
        workdir: Path,
        src: Path | None = None,
        module: str = "confsvc",
    ) -> None:
        """src: a directory holding another confsvc package (a git revision's) to run.
        module: what runs (`bench.floor`: the ARI floor, bench/floor.py)."""
        self.workdir = workdir
        self.module = module
        self.src = src
        self.base = f"http://127.0.0.1:{http_port}"
        self.env = {
            **sut_env,
            "CONFSVC_HTTP_PORT": str(http_port),
            "CONFSVC_DB_PATH": str(workdir / "confsvc.sqlite3"),
            "CONFSVC_DATA_DIR": str(workdir / "data"),
            "CONFSVC_TOKENS": f"{TOKEN}:{CUSTOMER},{BACKLOG_TOKEN}:{BACKLOG_CUSTOMER}",
            "CONFSVC_AUTO_CREATE_ROOMS": "true",
            "CONFSVC_AUTO_CREATE_CUSTOMER": CUSTOMER,
            "CONFSVC_LOG_FORMAT": "json",
            **EXTRA_SETTINGS,
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
                *((self.module, "serve") if self.module == "confsvc" else (self.module,)),
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=logf,
                stderr=logf,
                # Never a directory with another confsvc/ (the floor runs from the project).
                cwd=str(self.src or (PROJECT if self.module != "confsvc" else self.workdir)),
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

    def log_problems(self) -> dict[str, int]:
        """Unhandled errors in the controller's output so far (there should be none)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return {
            "tracebacks": text.count("Traceback (most recent call last)"),
            "task_exception_never_retrieved": text.count("Task exception was never retrieved"),
        }

    async def api(
        self, method: str, path: str, body: Any = None, token: str = TOKEN, **params: str
    ) -> tuple[int, Any]:
        """One request as the tenant of `token`; (status, JSON answer)."""
        assert self.http is not None
        headers = {"Authorization": f"Bearer {token}"}
        async with self.http.request(
            method, f"{self.base}/v1{path}", params=params, json=body, headers=headers
        ) as r:
            return r.status, await r.json(content_type=None)

    async def list_all(self, path: str, token: str = TOKEN, **params: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page: str | None = None
        for _ in range(100):  # bounded paging
            extra = {"page_token": page} if page else {}
            status, body = await self.api(
                "GET", path, token=token, page_size="100", **params, **extra
            )
            if status != 200:
                raise RuntimeError(f"GET {path}: {status} {body}")
            out.extend(body["result"])
            page = body.get("next_page_token")
            if not page:
                break
        return out

    async def live_conferences(self, token: str = TOKEN) -> dict[str, str]:
        """room -> conference id of the tenant's progressing conferences."""
        confs = await self.list_all("/conferences", token=token, status="progressing")
        return {c["room"]: c["id"] for c in confs}

    async def joined_calls(self, conference_id: str) -> dict[str, str]:
        """caller name (the load generator's call id) -> conferencecall id."""
        calls = await self.list_all(
            "/conferencecalls", conference_id=conference_id, status="joined"
        )
        return {c["caller"]["name"]: c["id"] for c in calls}

    async def create_conference(self, room: str, max_participants: int) -> tuple[int, Any]:
        body = {"type": "conference", "room": room, "max_participants": max_participants}
        return await self.api("POST", "/conferences", body)

    async def wait_progressing(self, conference_id: str, timeout: float = 10) -> bool:
        """Until the conference's bridge is up (a created room starts as `starting`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = await self.api("GET", f"/conferences/{conference_id}")
            if status == 200 and body.get("status") == "progressing":
                return True
            await asyncio.sleep(0.1)
        return False

    async def add_webhook(self, url: str, event_types: list[str], token: str = TOKEN) -> str:
        body = {"url": url, "event_types": event_types}
        status, answer = await self.api("POST", "/webhooks", body, token=token)
        if status != 201:
            raise RuntimeError(f"POST /v1/webhooks {url}: {status} {answer}")
        return str(answer["id"])

    async def delete_webhook(self, webhook_id: str, token: str = TOKEN) -> None:
        await self.api("DELETE", f"/webhooks/{webhook_id}", token=token)

    async def kick(self, conferencecall_id: str) -> int:
        status, _ = await self.api("DELETE", f"/conferencecalls/{conferencecall_id}")
        return status

    async def end_conferences(self, rooms: set[str], token: str = TOKEN) -> int:
        """DELETE the live conferences of these rooms (the scenario's, once it is over)."""
        ended = 0
        for room, conf_id in (await self.live_conferences(token)).items():
            if room in rooms:
                status, _ = await self.api("DELETE", f"/conferences/{conf_id}", token=token)
                ended += status == 200
        return ended
