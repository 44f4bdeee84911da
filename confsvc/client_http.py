"""The operator CLI's HTTP side: one aiohttp session against a running controller; list
pages followed to the end; recordings downloaded in chunks; the WebSocket tailed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp

CHUNK = 64 * 1024


class ApiFailed(Exception):
    """The controller answered with an error (status, its JSON body)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class ApiClient:
    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.token = token

    async def call(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> Any:
        async with self.http.request(
            method, self.base + path, json=body, params=params, headers=self.headers
        ) as r:
            data = await r.json(content_type=None) if r.status != 204 else {}
            if r.status >= 400:
                raise ApiFailed(r.status, data)
            return data

    async def pages(
        self, path: str, params: dict[str, str], limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a paged list (next_page_token followed), at most `limit`."""
        out: list[dict[str, Any]] = []
        query = dict(params)
        while True:
            page = await self.call("GET", path, params=query)
            out.extend(page["result"])
            query["page_token"] = page.get("next_page_token") or ""
            if not query["page_token"] or (limit is not None and len(out) >= limit):
                return out[:limit]

    async def events(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """Stored events (GET /v1/events), pages followed by next_since."""
        out: list[dict[str, Any]] = []
        query = dict(params)
        while True:
            page = await self.call("GET", "/v1/events", params=query)
            out.extend(page["result"])
            if page.get("next_since") is None:
                return out
            query["since"] = str(page["next_since"])

    async def download(self, path: str, dest: Path) -> int:
        async with self.http.get(self.base + path, headers=self.headers) as r:
            if r.status >= 400:
                raise ApiFailed(r.status, await r.json(content_type=None))
            size = 0
            with dest.open("wb") as f:
                async for chunk in r.content.iter_chunked(CHUNK):
                    f.write(chunk)
                    size += len(chunk)
            return size

    async def follow(
        self, topic: str, since: str | None, on_error: Callable[[dict[str, Any]], None]
    ) -> AsyncIterator[dict[str, Any]]:
        """Events as they happen (GET /v1/ws), from `since` when given."""
        ws_url = self.base.replace("http", "ws", 1) + "/v1/ws"
        async with self.http.ws_connect(ws_url, headers=self.headers, heartbeat=20) as ws:
            msg: dict[str, Any] = {"type": "subscribe", "topics": [topic]}
            if since:
                msg["since"] = since
            await ws.send_str(json.dumps(msg))
            async for frame in ws:
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(frame.data)
                if data.get("type") == "event":
                    yield data["event"]
                elif data.get("type") == "error":
                    on_error(data)
