"""`emit()`: publish an event that is not a stored state change (e.g. conferencecall_digits).

State changes need no call at all: the store derives their events in the transaction of
the change (confsvc/events/journal.py). `emit` is for what happens without a state change;
its event goes into the same durable stream (events table, outbox, WebSocket).

    bus.emit("conferencecall_digits", customer_id, data)
        queued behind the state changes the engine has already handed to the store's
        writer (store/writer.py), so the stream keeps the order things happened in;
    await bus.emit(...)
        the same, and waits for its commit: the stored Event (None if it failed).

Inside a store transaction of your own, call `journal.emit(tx, ...)` instead: the event
then commits with that transaction or not at all. Never raises: a failure is logged (the
state change it reports, if any, is already stored).

One Bus per process, made by `confsvc.events.wiring.connect` (server.py) and handed to the
engine: no module state, so two engines (tests) never share pending emissions."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

import structlog

from confsvc.events.journal import Journal
from confsvc.events.model import Event
from confsvc.store.base import Store
from confsvc.store.writer import Writer

log = structlog.get_logger("confsvc.events")


class Emission:
    """What emit() returns: awaitable for the stored event, or left alone."""

    __slots__ = ("_committed", "event")

    def __init__(self, committed: asyncio.Future[None]) -> None:
        self._committed = committed
        self.event: Event | None = None

    def __await__(self) -> Generator[Any, None, Event | None]:
        return self._wait().__await__()

    async def _wait(self) -> Event | None:
        await asyncio.wait([self._committed])
        return self.event if not self._committed.exception() else None


class Bus:
    def __init__(self, journal: Journal, writer: Writer) -> None:
        self.journal = journal
        self.writer = writer

    def emit(self, kind: str, customer_id: str, data: dict[str, Any]) -> Emission:
        """Publish one event (see the module docstring). Never raises."""
        emission: Emission

        async def write(tx: Store) -> None:
            emission.event = await self.journal.emit(tx, kind, customer_id, data)

        emission = Emission(self.writer.submit(write))
        return emission

    async def flush(self) -> None:
        """Every emission so far is stored (shutdown, tests)."""
        await self.writer.flush()
