"""`emit()`: publish an event that is not a stored state change (e.g. conferencecall_digits).

State changes need no call at all: the store derives their events in the transaction of
the change (confsvc/events/journal.py). `emit` is for what happens without a state change;
its event goes into the same durable stream (events table, outbox, WebSocket).

    await emit("conferencecall_digits", call.customer_id, {**call.to_json(), ...})
        stored when the await returns; inside a store transaction of the calling task it
        joins that transaction (committed with it, or not at all).
    emit("conferencecall_digits", customer_id, data)
        fire and forget: stored moments later by a background flush, in emit order.

Await it at once or not at all: an emission left pending while the caller holds a store
transaction would wait for that transaction. Never raises: a failure is logged (the state
change it reports, if any, is already stored). With no journal bound (no engine running)
the event is only logged."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from confsvc.events.journal import Journal
    from confsvc.events.model import Event

log = structlog.get_logger("confsvc.events")

_sink: tuple[Journal, Any] | None = None
_pending: deque[Emission] = deque()
_flusher: asyncio.Task[None] | None = None


class Emission:
    """What emit() returns: awaitable (stores it now, in the awaiting task), or left alone
    (the background flush stores it)."""

    __slots__ = ("_done", "_sink", "claimed", "customer_id", "data", "kind")

    def __init__(self, kind: str, customer_id: str, data: dict[str, Any]) -> None:
        self.kind = kind
        self.customer_id = customer_id
        self.data = data
        self.claimed = False
        self._sink = _sink
        self._done: asyncio.Future[Event | None] | None = None

    def __await__(self) -> Generator[Any, None, Event | None]:
        return self._wait().__await__()

    async def _wait(self) -> Event | None:
        if not self.claimed:
            try:
                _pending.remove(self)
            except ValueError:
                pass
            return await self.write()
        if self._done is None:
            return None
        return await asyncio.shield(self._done)

    async def write(self) -> Event | None:
        self.claimed = True
        event: Event | None = None
        try:
            if self._sink is not None:
                journal, store = self._sink
                event = await journal.emit(store, self.kind, self.customer_id, self.data)
        except Exception:
            log.exception("event not stored", kind=self.kind, customer_id=self.customer_id)
        finally:
            if self._done is not None and not self._done.done():
                self._done.set_result(event)
        return event


def emit(kind: str, customer_id: str, data: dict[str, Any]) -> Emission:
    """Publish one event (see the module docstring). Never raises."""
    global _flusher
    emission = Emission(kind, customer_id, data)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if _sink is None or loop is None:
        emission.claimed = True
        try:
            log.info(kind, customer_id=customer_id, data=data)
        except Exception:  # pragma: no cover - a broken log sink
            pass
        return emission
    emission._done = loop.create_future()
    _pending.append(emission)
    # A flusher of another (closed) event loop would never run again: start one here.
    if _flusher is None or _flusher.done() or _flusher.get_loop() is not loop:
        _flusher = loop.create_task(_flush())
    return emission


async def _flush() -> None:
    loop = asyncio.get_running_loop()
    while _pending:
        emission = _pending.popleft()
        if emission.claimed:
            continue
        if emission._done is not None and emission._done.get_loop() is not loop:
            emission.claimed = True  # left behind by a loop that is gone: cannot be stored
            log.warning("event dropped: its event loop is gone", kind=emission.kind)
            continue
        await emission.write()


async def flush() -> None:
    """Store every emission still pending (shutdown, tests)."""
    loop = asyncio.get_running_loop()
    while _pending or (_flusher is not None and not _flusher.done()):
        if _flusher is not None and not _flusher.done() and _flusher.get_loop() is loop:
            await asyncio.shield(_flusher)
        else:
            await _flush()
            break


def bind(journal: Journal, store: Any) -> None:
    global _sink
    _sink = (journal, store)


def unbind(store: Any) -> None:
    """Forget the sink if it is this store's (an engine closing)."""
    global _sink
    if _sink is not None and _sink[1] is store:
        _sink = None
