"""A WebSocket of JSON text messages read in the background (the load generator's ARI
events, the controller's /v1/ws): each message goes to a handler with the host clock
when it was read off the socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

Handler = Callable[[dict[str, Any], float], None]


class JsonSocket:
    def __init__(self) -> None:
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def open(
        self,
        session: aiohttp.ClientSession,
        url: str,
        on_message: Handler,
        params: dict[str, str] | None = None,
    ) -> None:
        self._ws = await session.ws_connect(url, params=params, max_msg_size=0)
        self._reader = asyncio.create_task(self._read(on_message))

    async def send(self, message: dict[str, Any]) -> None:
        assert self._ws is not None
        await self._ws.send_json(message)

    async def _read(self, on_message: Handler) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            t = time.time()
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            on_message(json.loads(msg.data), t)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
