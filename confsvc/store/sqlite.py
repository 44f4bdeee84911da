"""SQLite implementation of `Store` (aiosqlite).

Two connections: a writer (all writes and every transaction, serialised by an asyncio lock)
and a reader (WAL lets it read the last committed state while a write is in flight, so a
reader never sees another task's uncommitted transaction). `:memory:` has no second
connection to share a database with, so there reads also go through the writer lock.

Text formats: enums as their values, times as fixed-width ISO 8601 UTC text (so text order
is time order, which the keyset pagination relies on), lists and dicts as JSON text."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from confsvc.domain.conference import Conference
from confsvc.domain.ids import now, to_iso
from confsvc.events.journal import Journal
from confsvc.store.base import (
    UNKNOWN,
    check_page_size,
    decode_page_token,
    encode_page_token,
)
from confsvc.store.listeners import Listeners
from confsvc.store.sqlite_calls import SqliteCalls
from confsvc.store.sqlite_conferences import SqliteConferences
from confsvc.store.sqlite_events import SqliteEvents
from confsvc.store.sqlite_recordings import SqliteRecordings
from confsvc.store.sqlite_schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
)
from confsvc.store.sqlite_transcribes import SqliteTranscribes
from confsvc.store.sqlite_webhooks import SqliteWebhooks

# --- transactions ----------------------------------------------------------------------


@dataclass
class _Tx:
    store: SqliteStore
    task: asyncio.Task[Any] | None
    active: bool = True
    # Run once the transaction has committed (dropped on rollback): see after_commit.
    after: list[Callable[[], None]] = field(default_factory=list)
    # What the transaction made, by kind, for after-commit listeners: see collect.
    made: dict[str, list[Any]] = field(default_factory=dict)


# Which transaction the current task is inside. Tasks copy the context when created, so
# ownership is also checked by task identity (a child task must not ride on the parent's
# transaction, which may be committed before the child writes).
_CURRENT_TX: ContextVar[_Tx | None] = ContextVar("confsvc_store_tx", default=None)


class SqliteStore(
    SqliteConferences,
    SqliteRecordings,
    SqliteTranscribes,
    SqliteEvents,
    SqliteWebhooks,
    SqliteCalls,
):
    """`Store` on one SQLite file. Use `await open()`/`close()` or `async with`. The
    recording methods come from SqliteRecordings (sqlite_recordings.py), the event stream
    from SqliteEvents (sqlite_events.py), webhooks and deliveries from SqliteWebhooks.

    `journal` (set by the engine, confsvc/events/journal.py): when set, every save of a
    conference, conferencecall or recording reads the stored version first and hands
    (old, new) to it in the same transaction, which appends the resulting events."""

    journal: Journal | None = None

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._memory = self.path == ":memory:"
        self._w: aiosqlite.Connection | None = None
        self._r: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        # The parts' in-memory state, made here once (the mixins declare it).
        self._hooks = {}  # customer id -> webhooks (sqlite_webhooks.py)
        self._secrets = {}  # customer id -> signing secret
        self._secrets_version = 0
        self._delivery_listeners = Listeners()
        self._event_listeners = Listeners()

    async def __aenter__(self) -> SqliteStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        if self._w is not None:
            return
        if not self._memory:
            parent = Path(self.path).parent
            await asyncio.to_thread(parent.mkdir, parents=True, exist_ok=True)
        # isolation_level=None: autocommit; transactions are explicit BEGIN/COMMIT below.
        w = await aiosqlite.connect(self.path, isolation_level=None)
        w.row_factory = sqlite3.Row
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"):
            await _exec(w, f"PRAGMA {pragma}")
        self._w = w
        await self._migrate()
        if self._memory:
            self._r = w
        else:
            r = await aiosqlite.connect(self.path, isolation_level=None)
            r.row_factory = sqlite3.Row
            await _exec(r, "PRAGMA busy_timeout=5000")
            await _exec(r, "PRAGMA query_only=ON")
            self._r = r

    async def close(self) -> None:
        w, r, self._w, self._r = self._w, self._r, None, None
        if r is not None and r is not w:
            await r.close()
        if w is not None:
            await w.close()

    async def _migrate(self) -> None:
        async with self.transaction():
            w = self._writer()
            await _exec(
                w,
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
            )
            rows = await w.execute_fetchall("SELECT version FROM schema_version")
            applied = {int(r[0]) for r in rows}
            current = max(applied, default=0)
            if current > SCHEMA_VERSION:
                raise RuntimeError(
                    f"database schema v{current} is newer than this code (v{SCHEMA_VERSION})"
                )
            # Every version not applied yet, in order: a gap (4 applied before 3 existed,
            # when two changes were made side by side) is filled later, not skipped.
            for version, statements in sorted(MIGRATIONS, key=lambda m: m[0]):
                if version in applied:
                    continue
                for sql in statements:
                    await _exec(w, sql)
                await _exec(w, "INSERT INTO schema_version VALUES (?, ?)", (version, to_iso(now())))

    async def schema_version(self) -> int:
        rows = await self._fetch("SELECT MAX(version) FROM schema_version", ())
        return int(rows[0][0] or 0)

    # --- connection plumbing -------------------------------------------------------------

    def _writer(self) -> aiosqlite.Connection:
        if self._w is None:
            raise RuntimeError("store is not open")
        return self._w

    def _in_tx(self) -> bool:
        tx = _CURRENT_TX.get()
        return (
            tx is not None and tx.active and tx.store is self and tx.task is asyncio.current_task()
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteStore]:
        """Atomic unit of work; yields the store itself, whose methods join it."""
        if self._in_tx():  # nested: join the outer transaction
            yield self
            return
        w = self._writer()
        async with self._lock:
            try:
                await _exec(w, "BEGIN IMMEDIATE")
            except BaseException:  # cancelled mid-BEGIN: it may still have run
                await _rollback(w)
                raise
            tx = _Tx(self, asyncio.current_task())
            token = _CURRENT_TX.set(tx)
            try:
                yield self
                await _exec(w, "COMMIT")
            except BaseException:  # body or COMMIT failed: undo everything
                await _rollback(w)
                raise
            finally:
                tx.active = False
                _CURRENT_TX.reset(token)
        for fn in tx.after:
            fn()

    def after_commit(self, fn: Callable[[], None]) -> None:
        """fn() once the current transaction of this task commits (never on rollback);
        at once outside a transaction. fn must not raise."""
        tx = _CURRENT_TX.get()
        if self._in_tx() and tx is not None:
            if fn not in tx.after:
                tx.after.append(fn)
        else:
            fn()

    def collect(self, kind: str, item: Any, hand_over: Callable[[list[Any]], None]) -> None:
        """Keep `item` with the current transaction's other items of this kind: once it
        commits, hand_over(items) is called once with all of them in order (never on
        rollback); at once outside a transaction (the write is already committed)."""
        tx = _CURRENT_TX.get()
        if not self._in_tx() or tx is None:
            hand_over([item])
            return
        items = tx.made.get(kind)
        if items is None:
            items = tx.made[kind] = []
            tx.after.append(lambda: hand_over(items))
        items.append(item)

    @asynccontextmanager
    async def _changing(
        self,
        get_old: Callable[[str], Awaitable[Any]],
        new: Any,
        old: Any = UNKNOWN,
        conference: Conference | None = None,
    ) -> AsyncIterator[None]:
        """Around the write of `new`: with a journal, one transaction holding the write and
        the events derived from (old, new). The engine passes `old` (and a call's
        conference) from memory; only other writers make the store read them."""
        if self.journal is None:
            yield
            return
        async with self.transaction():
            if old is UNKNOWN:
                old = await get_old(new.id)
            yield
            await self.journal.changed(self, old, new, conference)

    async def _write(self, sql: str, params: Sequence[Any]) -> None:
        if self._in_tx():
            await _exec(self._writer(), sql, params)
            return
        async with self._lock:  # one statement in autocommit mode: atomic on its own
            await _exec(self._writer(), sql, params)

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        if self._in_tx():  # read our own uncommitted writes
            return list(await self._writer().execute_fetchall(sql, params))
        if self._r is None:
            raise RuntimeError("store is not open")
        if self._r is self._w:
            async with self._lock:
                return list(await self._r.execute_fetchall(sql, params))
        return list(await self._r.execute_fetchall(sql, params))

    # --- shared paging ---------------------------------------------------------------------

    async def _page(
        self,
        table: str,
        cols: str,
        where: list[str],
        params: list[Any],
        page_size: int,
        page_token: str | None,
    ) -> tuple[list[sqlite3.Row], str | None]:
        """Newest first; keyset on (tm_create, id) so pages stay stable while rows are
        added. Fetches one extra row to know whether a next page exists."""
        size = check_page_size(page_size)
        if page_token:
            where = [*where, "(tm_create, id) < (?, ?)"]
            params = [*params, *decode_page_token(page_token)]
        sql = (
            f"SELECT {cols} FROM {table} WHERE {' AND '.join(where)} "
            "ORDER BY tm_create DESC, id DESC LIMIT ?"
        )
        rows = await self._fetch(sql, [*params, size + 1])
        if len(rows) <= size:
            return rows, None
        last = rows[size - 1]
        return rows[:size], encode_page_token(last["tm_create"], last["id"])


async def _exec(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> None:
    # One trip to aiosqlite's thread (execute + cursor close would be two): every trip
    # is a queue hand-off and a wake-up of the event loop.
    await conn.execute_fetchall(sql, params)


async def _rollback(conn: aiosqlite.Connection) -> None:
    # Never mask the original error: a failed rollback (e.g. the connection is gone, or
    # SQLite already rolled back on its own) has nothing more to undo.
    try:
        await _exec(conn, "ROLLBACK")
    except (sqlite3.Error, ValueError):
        pass
