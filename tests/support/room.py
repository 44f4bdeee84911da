"""Helpers for tests with several phones in a room."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from tests.support.controller import Controller
from tests.support.phone import Phone
from tests.support.runtime import Runtime

ACCOUNTS = ["alice", "bob", "carol", "dave", "erin"]


@contextlib.asynccontextmanager
async def phones(runtime: Runtime, tones: list[float], tag: str) -> AsyncIterator[list[Phone]]:
    """Started phones (one per tone), always stopped afterwards, even when a test fails."""
    started: list[Phone] = []
    try:
        for account, tone in zip(ACCOUNTS, tones, strict=False):
            p = Phone(runtime, account, tone, tag=f"-{tag}")
            await p.start()
            started.append(p)
        yield started
    finally:
        await asyncio.gather(*(p.stop() for p in started), return_exceptions=True)


async def create_room(ctl: Controller, room: str, **fields: Any) -> dict[str, Any]:
    body = {"type": "conference", "name": room, "detail": "test", "room": room, **fields}
    return await ctl.request("POST", "/v1/conferences", json=body, expect=201)


async def calls_of(ctl: Controller, conference_id: str) -> list[dict[str, Any]]:
    body = await ctl.request("GET", f"/v1/conferencecalls?conference_id={conference_id}")
    return body["result"]


async def wait_joined(ctl: Controller, conference_id: str, n: int, timeout: float = 10) -> None:
    async def count() -> int:
        return sum(c["status"] == "joined" for c in await calls_of(ctl, conference_id))

    deadline = asyncio.get_running_loop().time() + timeout
    while (got := await count()) != n:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{got} joined, wanted {n}: {await calls_of(ctl, conference_id)}")
        await asyncio.sleep(0.1)


async def dial_in(ps: list[Phone], room: str) -> float:
    """Every phone dials the room; when all calls are established: time.monotonic()."""
    for p in ps:
        await p.dial(room)
    for p in ps:
        await p.wait_event("CALL_ESTABLISHED")
    return time.monotonic()
