"""The load generator's own small ARI client (aiohttp REST + one event websocket).

Deliberately not confsvc.ari: the load generator must not share code with the system
under test. Events arrive with subscribeAll=true, so the generator sees its dial-plan
channels (ChannelStateChange, ChannelTalkingStarted, ChannelHangupRequest...).
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import datetime
from typing import Any

import aiohttp

from bench.jsonws import Handler, JsonSocket


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
        self._events = JsonSocket()
        self._user = user
        self._password = password

    async def start(self, on_event: Handler) -> None:
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
        await self._events.open(self._session, ws_url, on_event, params)

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
        await self._events.close()
        if self._session is not None:
            await self._session.close()
