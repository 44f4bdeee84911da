"""The load generator's own small ARI client (aiohttp REST + one event websocket).

Deliberately not confsvc.ari: the load generator must not share code with the system
under test. Events arrive with subscribeAll=true, so the generator sees its dial-plan
channels (ChannelStateChange, ChannelTalkingStarted, ChannelHangupRequest...).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp

EventHandler = Callable[[dict[str, Any], float], None]


class AriFailure(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"ARI {status}: {text[:200]}")
        self.status = status


def event_time(event: dict[str, Any]) -> float:
    """An event's own timestamp (Asterisk's clock, ms resolution) as epoch seconds."""
    stamp = event.get("timestamp")
    if not stamp:
        return time.time()
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


class LoadgenAri:
    def __init__(self, base_url: str, user: str, password: str, app: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        self._headers = {"Authorization": aiohttp.encode_basic_auth(user, password)}
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._user = user
        self._password = password

    async def start(self, on_event: EventHandler) -> None:
        connector = aiohttp.TCPConnector(limit=64)
        self._session = aiohttp.ClientSession(
            headers=self._headers, connector=connector, timeout=aiohttp.ClientTimeout(total=10)
        )
        ws_url = self.base_url.replace("http://", "ws://") + "/events"
        params = {
            "app": self.app,
            "api_key": f"{self._user}:{self._password}",
            "subscribeAll": "true",
        }
        self._ws = await self._session.ws_connect(ws_url, params=params, max_msg_size=0)
        self._reader = asyncio.create_task(self._read(on_event))

    async def _read(self, on_event: EventHandler) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            on_event(json.loads(msg.data), time.time())

    async def request(
        self, method: str, path: str, params: dict[str, str] | None = None, body: Any = None
    ) -> Any:
        assert self._session is not None
        async with self._session.request(
            method, f"{self.base_url}{path}", params=params, json=body
        ) as r:
            text = await r.text()
            if r.status >= 300:
                raise AriFailure(r.status, text)
            return json.loads(text) if text else None

    async def originate(
        self,
        channel_id: str,
        endpoint: str,
        *,
        context: str,
        extension: str,
        caller_id: str,
        variables: dict[str, str],
        timeout: int = 30,
    ) -> None:
        params = {
            "endpoint": endpoint,
            "context": context,
            "extension": extension,
            "priority": "1",
            "callerId": caller_id,
            "timeout": str(timeout),
            "channelId": channel_id,
        }
        await self.request("POST", "/channels", params, {"variables": variables})

    async def get_var(self, channel_id: str, name: str) -> str:
        body = await self.request("GET", f"/channels/{channel_id}/variable", {"variable": name})
        return str(body.get("value", "")) if body else ""

    async def hangup(self, channel_id: str) -> None:
        with contextlib.suppress(AriFailure):
            await self.request("DELETE", f"/channels/{channel_id}")

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._session is not None:
            await self._session.close()
