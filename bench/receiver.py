"""Where the bench receives the controller's events, on 127.0.0.1: the tests' webhook
receiver (tests/support/events.py: 200 to every request, each kept with the host clock
when it was read) and a client on the controller's WebSocket (/v1/ws) noting when each
frame was read off the socket."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.jsonws import JsonSocket
from tests.support.events import Receiver

DELIVERY_HEADER = "X-Confsvc-Delivery"


@dataclass(frozen=True)
class Arrival:
    t: float  # host clock (epoch seconds) when it arrived
    delivery: str  # X-Confsvc-Delivery (webhook) or the event id (WebSocket)
    event: dict[str, Any]


def caller_name(event: dict[str, Any]) -> str | None:
    """A conferencecall event's caller name (the load generator's call id)."""
    data = event.get("data") or {}
    caller = data.get("caller") or {}
    name = caller.get("name")
    return name if isinstance(name, str) else None


def first_by_caller(arrivals: list[Arrival], event_type: str) -> dict[str, float]:
    """caller name -> when the first event of this type about that caller arrived."""
    out: dict[str, float] = {}
    for a in arrivals:
        name = caller_name(a.event)
        if a.event.get("type") == event_type and name is not None and name not in out:
            out[name] = a.t
    return out


def posts(receiver: Receiver, prefix: str) -> list[Arrival]:
    """Every webhook POST under a path prefix, retries included, in arrival order."""
    return [
        Arrival(r.at, r.headers.get(DELIVERY_HEADER, ""), r.event)
        for r in receiver.got
        if r.method == "POST" and r.path.startswith(prefix)
    ]


def deliveries(receiver: Receiver, prefix: str) -> tuple[dict[str, float], int]:
    """Under a path prefix: delivery id -> when it first arrived, and how many POSTs came
    in all (re-sent ones too). Reads headers only: cheap enough to poll."""
    first: dict[str, float] = {}
    total = 0
    for r in receiver.got:
        if r.method == "POST" and r.path.startswith(prefix):
            total += 1
            first.setdefault(r.headers.get(DELIVERY_HEADER, ""), r.at)
    return first, total


class WsTap:
    """One /v1/ws connection subscribed to every conference of the token's tenant."""

    def __init__(self, base_url: str, token: str) -> None:
        self.url = base_url.replace("http://", "ws://") + "/v1/ws"
        self.token = token
        self.arrivals: list[Arrival] = []
        self.error: str | None = None
        self._subscribed = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._socket = JsonSocket()

    def _on_message(self, frame: dict[str, Any], t: float) -> None:
        kind = frame.get("type")
        if kind == "event":
            event = frame.get("event") or {}
            self.arrivals.append(Arrival(t, str(event.get("id", "")), event))
        elif kind == "subscribed":
            self._subscribed.set()
        elif kind == "error":
            self.error = f"{frame.get('error')}: {frame.get('message')}"

    async def start(self, timeout: float = 10) -> None:
        self._session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {self.token}"})
        await self._socket.open(self._session, self.url, self._on_message)
        await self._socket.send({"type": "subscribe", "topics": ["conference:*"]})
        try:
            async with asyncio.timeout(timeout):
                await self._subscribed.wait()
        except TimeoutError:
            raise RuntimeError(f"/v1/ws subscribe: {self.error or 'no answer'}") from None

    async def stop(self) -> None:
        await self._socket.close()
        if self._session is not None:
            await self._session.close()
