"""Events committed by another process reach this one's listeners (PostgreSQL only):
LISTEN/NOTIFY as the wake-up, the events table (by store_seq) as the truth.

A transaction that appends events takes the event-order lock (pg.py) and queues
`NOTIFY confsvc_events` (delivered at its commit). Every PgStore LISTENs on its own
connection and keeps `last`, the highest store_seq handed to its listeners:

- its own commit: when the events follow `last` without a gap they are handed over at
  once (no read: the single-process path stays as cheap as SQLite's); otherwise another
  process committed in between, and the tail is read from the table in order;
- a notification from another backend: the tail is read (`seq > last`);
- its own notifications are ignored (same backend pid as the writer).

Events commit in store_seq order (the lock), so reading `seq > last` never skips one;
each is handed over once. A lost LISTEN connection is re-opened and the tail read, so
nothing committed meanwhile is missed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import structlog

from confsvc.events.model import Event

log = structlog.get_logger(__name__)

CHANNEL = "confsvc_events"
RECONNECT_DELAY = 1.0

ReadAfter = Callable[[int], Awaitable[list[Event]]]
HandOver = Callable[[Sequence[Event]], None]


class EventTail:
    def __init__(self, url: str, read_after: ReadAfter, hand_over: HandOver) -> None:
        self._url = url
        self._read_after = read_after
        self._hand_over = hand_over
        self.last = 0
        self.writer_pid = 0  # our own writer's backend: its notifications are ours
        self._conn: asyncpg.Connection | None = None
        self._reading: asyncio.Task[None] | None = None
        self._again = False
        self._watch: asyncio.Task[None] | None = None

    async def start(self, last: int) -> None:
        self.last = last
        await self._listen()
        self._watch = asyncio.get_running_loop().create_task(self._keep_listening())

    async def close(self) -> None:
        for task in (self._watch, self._reading):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    # --- the two ways in -------------------------------------------------------------------

    def committed(self, events: list[Event]) -> None:
        """After our own commit (sync, from the store's after-commit hand-off)."""
        if self._reading is None and events and events[0].store_seq == self.last + 1:
            self.last = events[-1].store_seq
            self._hand_over(events)
            return
        self._read()

    def _notified(self, _conn: Any, pid: int, _channel: str, _payload: str) -> None:
        if pid != self.writer_pid:
            self._read()

    # --- reading the tail --------------------------------------------------------------------

    def _read(self) -> None:
        if self._reading is not None:
            self._again = True  # the running read goes round once more
            return
        self._reading = asyncio.get_running_loop().create_task(self._read_tail())

    async def _read_tail(self) -> None:
        try:
            while True:
                self._again = False
                batch = await self._read_after(self.last)
                if batch:
                    self.last = batch[-1].store_seq
                    self._hand_over(batch)
                    continue
                if not self._again:
                    return
        except Exception:
            log.exception("events tail not read")  # the next notification or commit retries
        finally:
            self._reading = None

    # --- the LISTEN connection --------------------------------------------------------------

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self._url)
        await conn.add_listener(CHANNEL, self._notified)
        self._conn = conn
        self._read()  # whatever was committed before we listened

    async def _keep_listening(self) -> None:
        while True:
            await asyncio.sleep(RECONNECT_DELAY)
            if self._conn is not None and not self._conn.is_closed():
                continue
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("events LISTEN connection lost; retrying", error=str(exc))
