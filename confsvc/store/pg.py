"""PostgreSQL implementation of `Store` (asyncpg), selected by CONFSVC_DB_URL=postgresql://...

The same parts as SQLite (sqlite_conferences.py, ... : one SQL text, translated by
pg_dialect.py) on the same driver-free base (sql_base.py): one writer connection whose
transactions an asyncio lock serialises within the process, and a small pool for reads
outside a transaction (they see committed data only). Between processes PostgreSQL does
the rest: row locks, the live-room unique index (-> RoomTaken), and two advisory locks:

- migrations: the migration transaction takes one first, so two controllers starting at
  once apply each version once (the second waits, then finds them applied);
- events: a transaction takes one before its first event and holds it to its commit, so
  events commit in `store_seq` order (a tailer reading `seq > last` never skips one that
  commits late) and a tenant's `seq` is its highest + 1 without a race.

asyncpg rather than psycopg 3: the same speed on this machine for the store's short
transactions (README), and its Record reads like sqlite3.Row (by name, by position,
keys()), so the row mapping is shared; LISTEN is built in (pg_events.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from confsvc.events.model import Event
from confsvc.store.pg_dialect import pg_params, to_pg
from confsvc.store.pg_events import CHANNEL, EventTail
from confsvc.store.sql_base import SqlStore, StoreUnavailable
from confsvc.store.sqlite_calls import SqliteCalls
from confsvc.store.sqlite_conferences import SqliteConferences
from confsvc.store.sqlite_events import SqliteEvents
from confsvc.store.sqlite_ops import Row
from confsvc.store.sqlite_recordings import SqliteRecordings
from confsvc.store.sqlite_transcribes import SqliteTranscribes
from confsvc.store.sqlite_webhooks import SqliteWebhooks

# pg_advisory_xact_lock(LOCK_CLASS, n): the first key names confsvc, the second the lock.
LOCK_CLASS = 7311
MIGRATIONS_LOCK = 1
EVENTS_LOCK = 2
READ_POOL_SIZE = 4

_GONE = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


class PgStore(
    SqlStore,
    SqliteConferences,
    SqliteRecordings,
    SqliteTranscribes,
    SqliteEvents,
    SqliteWebhooks,
    SqliteCalls,
):
    """`Store` on a PostgreSQL database. Use `await open()`/`close()` or `async with`."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._w: asyncpg.Connection | None = None
        self._pool: asyncpg.Pool | None = None
        # Events of other processes (LISTEN/NOTIFY) and ours, handed over in order.
        self._tail = EventTail(url, self.events_after, self._tell_event_listeners)

    # --- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        if self._w is not None:
            return
        try:
            self._w = await asyncpg.connect(self.url)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreUnavailable(f"PostgreSQL: {exc}") from exc
        try:
            await self._migrate()
            self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=READ_POOL_SIZE)
            self._tail.writer_pid = self._w.get_server_pid()
            rows = await self._query_r("SELECT COALESCE(MAX(seq), 0) FROM events", ())
            await self._tail.start(int(rows[0][0]))
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        await self._tail.close()
        w, pool, self._w, self._pool = self._w, self._pool, None, None
        if pool is not None:
            await pool.close()
        if w is not None:
            await w.close()

    # --- the primitives of SqlStore ------------------------------------------------------

    async def _writer(self) -> asyncpg.Connection:
        w = self._w
        if w is None:
            raise RuntimeError("store is not open")
        if w.is_closed() and not self._in_tx():  # the server restarted: a new session
            w = self._w = await asyncpg.connect(self.url)
            self._tail.writer_pid = w.get_server_pid()
        return w

    async def _exec_w(self, sql: str, params: Sequence[Any] = ()) -> None:
        w = await self._writer()
        await w.execute(to_pg(sql), *pg_params(params))

    async def _exec_many_w(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        w = await self._writer()
        await w.executemany(to_pg(sql), [pg_params(r) for r in rows])

    async def _query_w(self, sql: str, params: Sequence[Any]) -> list[Row]:
        w = await self._writer()
        return list(await w.fetch(to_pg(sql), *pg_params(params)))

    async def _query_r(self, sql: str, params: Sequence[Any]) -> list[Row]:
        if self._pool is None:
            if self._w is None:
                raise RuntimeError("store is not open")
            return await self._query_w(sql, params)  # during open: the migrations
        return list(await self._pool.fetch(to_pg(sql), *pg_params(params)))

    async def _begin(self) -> None:
        await self._exec_w("BEGIN")

    async def _rollback_w(self) -> None:
        # Never mask the original error: a lost connection has rolled back on its own.
        if self._w is None or self._w.is_closed():
            return
        try:
            await self._w.execute("ROLLBACK")
        except _GONE:
            pass

    async def _lock_migrations(self) -> None:
        await self._exec_w(f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, {MIGRATIONS_LOCK})")

    async def _order_events(self) -> None:
        if self._hold_once("events"):
            await self._exec_w(f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, {EVENTS_LOCK})")
            await self._exec_w(f"NOTIFY {CHANNEL}")  # sent at the commit (pg_events.py)

    # --- events to listeners: through the tail, in store_seq order across processes --------

    def _events_committed(self, events: list[Event]) -> None:
        self._tail.committed(events)

    def _tell_event_listeners(self, events: Sequence[Event]) -> None:
        self._event_listeners.tell(lambda fn: fn(events))

    def _room_conflict(self, exc: BaseException) -> bool:
        return isinstance(exc, asyncpg.UniqueViolationError) and (
            exc.constraint_name or ""
        ).startswith("ux_conferences_live_room")
