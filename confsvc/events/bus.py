"""`emit()`: publish an event that is not a stored state change (e.g. conferencecall_digits).

State changes need no call at all: the store derives their events in the transaction of
the change (confsvc/events/journal.py). `emit` is for what happens without a state change;
its event goes into the same durable stream (events table, outbox, WebSocket).

    await bus.emit("conferencecall_digits", call.customer_id, {**call.to_json(), ...})
        stored when the await returns; inside a store transaction of the calling task it
        joins that transaction (committed with it, or not at all).
    bus.emit("conferencecall_digits", customer_id, data)
        fire and forget: stored moments later by a background flush, in emit order.

Await it at once or not at all: an emission left pending while the caller holds a store
transaction would wait for that transaction. Never raises: a failure is logged (the state
change it reports, if any, is already stored).

One Bus per process, made by `confsvc.events.wiring.connect` (server.py) and handed to the
engine: no module state, so two engines (tests) never share pending emissions."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Generator
from typing import Any

import structlog

from confsvc.events.journal import Journal
from confsvc.events.model import Event

log = structlog.get_logger("confsvc.events")


class Emission:
    """What emit() returns: awaitable (stores it now, in the awaiting task), or left alone
    (the background flush stores it)."""

    __slots__ = ("_bus", "_done", "claimed", "customer_id", "data", "kind")

    def __init__(self, bus: Bus, kind: str, customer_id: str, data: dict[str, Any]) -> None:
        self._bus = bus
        self.kind = kind
        self.customer_id = customer_id
        self.data = data
        self.claimed = False
        self._done: asyncio.Future[Event | None] | None = None

    def __await__(self) -> Generator[Any, None, Event | None]:
        return self._wait().__await__()

    async def _wait(self) -> Event | None:
        if not self.claimed:
            self._bus.unqueue(self)
            return await self.write()
        if self._done is None:
            return None
        return await asyncio.shield(self._done)

    async def write(self) -> Event | None:
        self.claimed = True
        event: Event | None = None
        try:
            event = await self._bus.journal.emit(
                self._bus.store, self.kind, self.customer_id, self.data
            )
        except Exception:
            log.exception("event not stored", kind=self.kind, customer_id=self.customer_id)
        finally:
            if self._done is not None and not self._done.done():
                self._done.set_result(event)
        return event


class Bus:
    def __init__(self, journal: Journal, store: Any) -> None:
        self.journal = journal
        self.store = store
        self._pending: deque[Emission] = deque()
        self._flusher: asyncio.Task[None] | None = None

    def emit(self, kind: str, customer_id: str, data: dict[str, Any]) -> Emission:
        """Publish one event (see the module docstring). Never raises."""
        emission = Emission(self, kind, customer_id, data)
        loop = asyncio.get_running_loop()
        emission._done = loop.create_future()
        self._pending.append(emission)
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return emission

    def unqueue(self, emission: Emission) -> None:
        try:
            self._pending.remove(emission)
        except ValueError:
            pass

    async def _flush(self) -> None:
        while self._pending:
            emission = self._pending.popleft()
            if not emission.claimed:
                await emission.write()

    async def flush(self) -> None:
        """Store every emission still pending (shutdown, tests)."""
        while self._pending or (self._flusher is not None and not self._flusher.done()):
            if self._flusher is not None and not self._flusher.done():
                await asyncio.shield(self._flusher)
            else:
                await self._flush()
