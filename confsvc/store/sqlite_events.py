"""The events part of `SqliteStore` (a mixin): the event stream and its commit signal.

`append_event` joins the caller's transaction (it opens one when there is none), so an
event is committed together with the state change it reports, or not at all.

Two numbers per event, both in commit order (transactions are serialized by the writer):
- column `seq` (Event.store_seq): AUTOINCREMENT across tenants, never reused. Internal:
  the WebSocket hub tails the table by it. Never shown to a tenant, as it would tell how
  busy the other tenants are.
- column `tenant_seq` (Event.seq): 1, 2, 3... per tenant, no gaps (the next is the
  tenant's highest + 1, read in the inserting transaction). What clients see and pass
  back as `since`.
After a commit that appended events the registered listeners are handed those events
(seq and store_seq set), in commit order: the WebSocket hub offers them to its clients
without reading the table back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import msgspec

from confsvc.domain.ids import from_iso, to_iso
from confsvc.events.model import Event
from confsvc.store.listeners import Listeners
from confsvc.store.sqlite_ops import Row, SqliteOps

# Migration 4 (with the conference columns and the webhook tables).
EVENTS_SCHEMA: list[str] = [
    """CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        customer_id TEXT NOT NULL,
        conference_id TEXT NOT NULL,
        type TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        timestamp TEXT NOT NULL,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX ix_events_customer ON events (customer_id, seq)",
    "CREATE INDEX ix_events_conference ON events (conference_id, seq)",
]

# Migration 7: seq per tenant. Existing events are numbered per tenant in their store
# order, and the deliveries' event_seq (shown in a webhook's delivery log) follows.
TENANT_SEQ_SCHEMA: list[str] = [
    "ALTER TABLE events ADD COLUMN tenant_seq INTEGER NOT NULL DEFAULT 0",
    """UPDATE events SET tenant_seq = numbered.n FROM (
        SELECT seq, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY seq) AS n
        FROM events
    ) AS numbered WHERE numbered.seq = events.seq""",
    "UPDATE deliveries SET event_seq = events.tenant_seq FROM events "
    "WHERE events.seq = deliveries.event_seq",
    "CREATE UNIQUE INDEX ux_events_tenant_seq ON events (customer_id, tenant_seq)",
    "DROP INDEX ix_events_customer",  # the tenant's events are read by tenant_seq now
]

_EVENT_COLS = "seq, tenant_seq, id, customer_id, conference_id, type, resource_id, timestamp, data"
_INSERT_EVENT = (
    "INSERT INTO events "
    "(id, customer_id, conference_id, type, resource_id, timestamp, data, tenant_seq) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, "
    "(SELECT COALESCE(MAX(tenant_seq), 0) + 1 FROM events WHERE customer_id = ?)) "
    "RETURNING tenant_seq, seq"
)
MAX_EVENTS_BATCH = 1000


def _event_from_row(r: Row) -> Event:
    return Event(
        seq=r["tenant_seq"],
        store_seq=r["seq"],
        id=r["id"],
        type=r["type"],
        customer_id=r["customer_id"],
        conference_id=r["conference_id"],
        resource_id=r["resource_id"],
        timestamp=from_iso(r["timestamp"]),  # type: ignore[arg-type]
        data=json.loads(r["data"]),
    )


EventListener = Callable[[Sequence[Event]], None]


class SqliteEvents(SqliteOps):
    """Event methods of SqliteStore."""

    _event_listeners: Listeners[EventListener]

    if TYPE_CHECKING:

        def collect(self, kind: str, item: Any, hand_over: Callable[[list[Any]], None]) -> None: ...

    # --- commit signal -------------------------------------------------------------------

    def add_event_listener(self, fn: EventListener) -> None:
        """fn(events) after every commit that appended events: that commit's events, in
        order (sync, must not block; an exception is logged)."""
        self._event_listeners.add(fn)

    def remove_event_listener(self, fn: EventListener) -> None:
        self._event_listeners.remove(fn)

    def _events_committed(self, events: list[Event]) -> None:
        self._event_listeners.tell(lambda fn: fn(events))

    # --- writing -------------------------------------------------------------------------

    async def append_event(self, event: Event) -> int:
        """Store the event in the current transaction (or a new one); returns its seq
        (the tenant's)."""
        async with self.transaction():
            await self._order_events()
            rows = await self._fetch(
                _INSERT_EVENT,
                (
                    event.id,
                    event.customer_id,
                    event.conference_id,
                    event.type,
                    event.resource_id,
                    to_iso(event.timestamp),
                    msgspec.json.encode(event.data).decode(),
                    event.customer_id,
                ),
            )
            seq, store_seq = int(rows[0][0]), int(rows[0][1])
            stored = replace(event, seq=seq, store_seq=store_seq)
            self.collect("events", stored, self._events_committed)
        return seq

    # --- reading -------------------------------------------------------------------------

    async def events_after(self, store_seq: int, limit: int = MAX_EVENTS_BATCH) -> list[Event]:
        """Every tenant's events after this store_seq, oldest first."""
        rows = await self._fetch(
            f"SELECT {_EVENT_COLS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (store_seq, min(limit, MAX_EVENTS_BATCH)),
        )
        return [_event_from_row(r) for r in rows]

    async def list_events(
        self,
        customer_id: str,
        *,
        after: int = 0,
        conference_id: str | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """The tenant's events with (the tenant's) seq > after, oldest first."""
        sql = f"SELECT {_EVENT_COLS} FROM events WHERE customer_id = ? AND tenant_seq > ?"
        params: list[Any] = [customer_id, after]
        if conference_id is not None:
            sql += " AND conference_id = ?"
            params.append(conference_id)
        sql += " ORDER BY tenant_seq LIMIT ?"
        params.append(min(limit, MAX_EVENTS_BATCH))
        return [_event_from_row(r) for r in await self._fetch(sql, params)]

    async def iter_events(
        self, customer_id: str, *, after: int = 0, conference_id: str | None = None
    ) -> AsyncIterator[Event]:
        """Every matching event after `after`, in batches (replays)."""
        while True:
            batch = await self.list_events(
                customer_id, after=after, conference_id=conference_id, limit=MAX_EVENTS_BATCH
            )
            for event in batch:
                yield event
            if len(batch) < MAX_EVENTS_BATCH:
                return
            after = batch[-1].seq

    async def event_seq(self, customer_id: str, event_id: str) -> int | None:
        """seq of the tenant's event with this public id (None: unknown or another's)."""
        rows = await self._fetch(
            "SELECT tenant_seq FROM events WHERE id = ? AND customer_id = ?",
            (event_id, customer_id),
        )
        return int(rows[0][0]) if rows else None
