"""GET /v1/ws: the tenant's events over a WebSocket (auth as everywhere: Bearer header or
?token=). Protocol, JSON text messages:

    client  {"type": "subscribe", "topics": ["conference:<id>" | "conference:*"],
             "since"?: <seq or event id>}
            {"type": "unsubscribe", "topics": [...]}
            {"type": "ping"}
    server  {"type": "subscribed", "topics": [...]}    (every topic now subscribed)
            {"type": "unsubscribed", "topics": [...]}
            {"type": "event", "event": {id, seq, type, customer_id, conference_id,
                                        timestamp, data}}
            {"type": "pong"}
            {"type": "error", "error": <code>, "message": <text>}
                codes: invalid_message, invalid_topic, conference_not_found,
                event_not_found, too_slow (then the connection is closed)

`seq` is the tenant's own event number (1, 2, 3...; see store/sqlite_events.py).
`?since=` on the URL applies to the first subscribe. WebSocket pings keep the connection
alive (aiohttp heartbeat); a client that falls too far behind is dropped (too_slow)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from aiohttp import WSMsgType, web

from confsvc.api.auth import customer_of
from confsvc.api.errors import ApiError
from confsvc.api.openapi import QueryParam, Route
from confsvc.api.paging import query_params
from confsvc.config import Settings
from confsvc.events.ws import ALL, Client, Hub, parse_topic
from confsvc.store.base import EventStore

PATH = "/v1/ws"
MAX_MESSAGE = 64 * 1024
MAX_TOPICS = 100
CLOSE_TOO_SLOW = 4008  # application close code: dropped for falling behind
SEND_TIMEOUT = 5.0
_SEQ_RE = re.compile(r"[0-9]{1,18}")


class WsRoutes:
    def __init__(self, settings: Settings, store: EventStore, hub: Hub) -> None:
        self.settings = settings
        self.store = store
        self.hub = hub
        self.sockets: set[web.WebSocketResponse] = set()
        self._locks: dict[web.WebSocketResponse, asyncio.Lock] = {}

    def routes(self) -> list[Route]:
        return [
            Route(
                "GET",
                PATH,
                self.handle,
                "eventsWebSocket",
                "WebSocket of the tenant's events (upgrade). Subscribe with "
                '{"type":"subscribe","topics":["conference:*"],"since":<seq>}',
                None,
                status=101,
                query=(QueryParam("since", {"type": "string"}, "replay events after this"),),
                errors=(422,),
                tags=("events",),
            )
        ]

    async def close_all(self, _app: web.Application | None = None) -> None:
        """Server shutdown: close every open socket (1001 going away)."""
        for ws in list(self.sockets):
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await ws.close(code=1001, message=b"server stopping")

    async def resolve_since(self, customer: str, raw: object) -> int | None:
        """A seq (integer) or a public event id of the tenant -> seq; ApiError 422."""
        if raw is None or raw == "":
            return None
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return raw
        if isinstance(raw, str) and _SEQ_RE.fullmatch(raw):
            return int(raw)
        if isinstance(raw, str) and len(raw) <= 64:
            seq = await self.store.event_seq(customer, raw)
            if seq is not None:
                return seq
            raise ApiError(422, "event_not_found", f"since: no event {raw!r}", field="since")
        raise ApiError.invalid_field("since", "must be an event seq or event id")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        customer = customer_of(request)
        params = query_params(request, ("since",))
        since = await self.resolve_since(customer, params.get("since"))
        ws = web.WebSocketResponse(
            heartbeat=self.settings.ws_heartbeat, max_msg_size=MAX_MESSAGE, autoping=True
        )
        await ws.prepare(request)
        self.sockets.add(ws)
        client = self.hub.connect(customer)
        sender = asyncio.create_task(self._send_events(ws, client))
        watchdog = asyncio.create_task(self._watch(ws, client, sender))
        try:
            await self._read(ws, client, customer, since)
        finally:
            self.hub.disconnect(client)
            self.sockets.discard(ws)
            self._locks.pop(ws, None)
            for task in (sender, watchdog):
                task.cancel()
            await asyncio.gather(sender, watchdog, return_exceptions=True)
            if not ws.closed:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        await ws.close()
        return ws

    async def _read(
        self, ws: web.WebSocketResponse, client: Client, customer: str, since: int | None
    ) -> None:
        first = True
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                if msg.type is WSMsgType.BINARY:
                    await self._error(ws, "invalid_message", "send JSON text messages")
                continue
            try:
                body = json.loads(msg.data)
                if not isinstance(body, dict):
                    raise ValueError("not an object")
            except ValueError:
                await self._error(ws, "invalid_message", "a message is a JSON object")
                continue
            try:
                reply = await self._message(client, customer, body, since if first else None)
            except ApiError as exc:
                await self._error(ws, exc.code, exc.message)
                continue
            if body.get("type") == "subscribe":
                first = False
            await self._send(ws, reply)

    async def _message(
        self, client: Client, customer: str, body: dict[str, Any], default_since: int | None
    ) -> dict[str, Any]:
        kind = body.get("type")
        if kind == "ping":
            return {"type": "pong"}
        if kind not in ("subscribe", "unsubscribe"):
            raise ApiError(400, "invalid_message", "type must be subscribe, unsubscribe or ping")
        topics = body.get("topics")
        if not isinstance(topics, list) or not topics or len(topics) > MAX_TOPICS:
            raise ApiError(400, "invalid_message", f"topics: a list of 1-{MAX_TOPICS} topics")
        keys: set[str] = set()
        for topic in topics:
            key = parse_topic(topic)
            if key is None:
                raise ApiError(400, "invalid_topic", f"{topic!r}: conference:<id> or conference:*")
            keys.add(key)
        if kind == "unsubscribe":
            client.unsubscribe(keys)
            return {"type": "unsubscribed", "topics": _topics(keys)}
        for key in keys - {ALL}:
            # Another tenant's conference looks like one that does not exist.
            if await self.store.get_conference(key, customer) is None:
                raise ApiError(404, "conference_not_found", f"conference {key} not found")
        since = default_since
        if "since" in body:
            since = await self.resolve_since(customer, body["since"])
        client.subscribe(keys, since)
        return {"type": "subscribed", "topics": _topics(client.keys)}

    async def _send_events(self, ws: web.WebSocketResponse, client: Client) -> None:
        async for event in client.events(self.store):
            if client.too_slow.is_set():
                return
            if not await self._send(ws, {"type": "event", "event": event.to_json()}):
                if not ws.closed:  # stuck for SEND_TIMEOUT: it cannot keep up
                    client.too_slow.set()
                return

    async def _watch(
        self, ws: web.WebSocketResponse, client: Client, sender: asyncio.Task[None]
    ) -> None:
        """Drop a client that fell behind: stop its sender, tell it, close."""
        await client.too_slow.wait()
        sender.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SEND_TIMEOUT):
                await asyncio.gather(sender, return_exceptions=True)
        await self._error(ws, "too_slow", "the client did not keep up with its events")
        self._locks.pop(ws, None)  # a send stuck holding it must not block the close
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await ws.close(code=CLOSE_TOO_SLOW, message=b"too slow")

    async def _error(self, ws: web.WebSocketResponse, code: str, message: str) -> None:
        await self._send(ws, {"type": "error", "error": code, "message": message})

    async def _send(self, ws: web.WebSocketResponse, body: dict[str, Any]) -> bool:
        """One message; False when it could not be sent (closed, or stuck)."""
        if ws.closed:
            return False
        lock = self._locks.setdefault(ws, asyncio.Lock())  # replies and events interleave
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
            # that races the send's completion (the sender would then never stop).
            async with lock, asyncio.timeout(SEND_TIMEOUT):
                await ws.send_json(body)
        except (ConnectionError, RuntimeError, TimeoutError):
            return False
        return True


def _topics(keys: set[str]) -> list[str]:
    return sorted(f"conference:{key}" for key in keys)
