"""Event-stream helpers for end-to-end tests: a real HTTP receiver (aiohttp on 127.0.0.1)
that can go down and come back on the same port, and a WebSocket client of /v1/ws."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web

from tests.support.phone import free_port
from tests.support.signatures import verifies


@dataclass
class Received:
    method: str
    path: str
    query: str  # raw, as signed for GET
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def event(self) -> dict[str, Any]:
        """The event JSON of a webhook / notify POST."""
        return json.loads(self.body)  # type: ignore[no-any-return]

    @property
    def form(self) -> dict[str, str]:
        """A callback's parameters (form body for POST, the query for GET)."""
        raw = self.query if self.method == "GET" else self.body.decode()
        return {k: v[0] for k, v in parse_qs(raw).items()}

    def signed_by(self, secret: str) -> bool:
        """Standard Webhooks headers the `standardwebhooks` library accepts."""
        payload = self.query if self.method == "GET" else self.body
        return verifies(secret, self.headers, payload)


@dataclass
class Receiver:
    """Answers 200 to everything and remembers it. stop()/start() keep the port."""

    port: int = field(default_factory=free_port)
    got: list[Received] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        self.got.append(
            Received(
                request.method,
                request.path,
                request.rel_url.raw_query_string,
                dict(request.headers),
                await request.read(),
                time.time(),
            )
        )
        return web.Response(text="ok")

    def events(self, path: str, conference_id: str | None = None) -> list[dict[str, Any]]:
        out = [r.event for r in self.got if r.path == path and r.method == "POST"]
        return [e for e in out if conference_id in (None, e["conference_id"])]

    def requests(self, path: str) -> list[Received]:
        return [r for r in self.got if r.path == path]

    async def wait(self, check: Any, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                paths = [(r.method, r.path) for r in self.got]
                raise AssertionError(f"receiver: condition not met in {timeout} s; got {paths}")
            await asyncio.sleep(0.05)


class WsClient:
    """A /v1/ws connection whose events are collected in the background."""

    def __init__(self, base: str, token: str, since: int | None = None) -> None:
        self.url = base.replace("http://", "ws://") + "/v1/ws"
        self.params = {"token": token}
        if since is not None:
            self.params["since"] = str(since)
        self.events: list[dict[str, Any]] = []
        self.replies: list[dict[str, Any]] = []
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None

    async def open(self, *topics: str) -> WsClient:
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(self.url, params=self.params)
        await self._ws.send_json({"type": "subscribe", "topics": list(topics)})
        reply = await self._ws.receive_json(timeout=5)
        assert reply["type"] == "subscribed", reply
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            body = msg.json()
            if body.get("type") == "event":
                self.events.append(body["event"])
            else:
                self.replies.append(body)

    def of(self, conference_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["conference_id"] == conference_id]

    async def wait_for_type(self, kind: str, conference_id: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not any(e["type"] == kind for e in self.of(conference_id)):
            if time.monotonic() > deadline:
                raise AssertionError(f"ws: no {kind}; got {[e['type'] for e in self.events]}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._http is not None:
            await self._http.close()


def call_types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events if e["type"].startswith("conferencecall_")]
