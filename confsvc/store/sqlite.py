"""SQLite implementation of `Store` (aiosqlite).

Two connections: a writer (all writes and every transaction, serialised by an asyncio lock)
and a reader (WAL lets it read the last committed state while a write is in flight, so a
reader never sees another task's uncommitted transaction). `:memory:` has no second
connection to share a database with, so there reads also go through the writer lock.
Transactions, paging and migrations are shared with PostgreSQL (sql_base.py).

Text formats: enums as their values, times as fixed-width ISO 8601 UTC text (so text order
is time order, which the keyset pagination relies on), lists and dicts as JSON text."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from confsvc.store.sql_base import Row, SqlStore
from confsvc.store.sqlite_calls import SqliteCalls
from confsvc.store.sqlite_conferences import SqliteConferences
from confsvc.store.sqlite_events import SqliteEvents
from confsvc.store.sqlite_recordings import SqliteRecordings
from confsvc.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from confsvc.store.sqlite_webhooks import SqliteWebhooks

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SqliteStore"]


class SqliteStore(
    SqlStore, SqliteConferences, SqliteRecordings, SqliteEvents, SqliteWebhooks, SqliteCalls
):
    """`Store` on one SQLite file. Use `await open()`/`close()` or `async with`. The
    resources' methods come from the sqlite_* parts (shared with PgStore)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)
        self._memory = self.path == ":memory:"
        self._w: aiosqlite.Connection | None = None
        self._r: aiosqlite.Connection | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        if self._w is not None:
            return
        if not self._memory:
            parent = Path(self.path).parent
            await asyncio.to_thread(parent.mkdir, parents=True, exist_ok=True)
        # isolation_level=None: autocommit; transactions are explicit BEGIN/COMMIT.
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

    # --- the primitives of SqlStore ------------------------------------------------------

    def _writer(self) -> aiosqlite.Connection:
        if self._w is None:
            raise RuntimeError("store is not open")
        return self._w

    async def _exec_w(self, sql: str, params: Sequence[Any] = ()) -> None:
        await _exec(self._writer(), sql, params)

    async def _query_w(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return list(await self._writer().execute_fetchall(sql, params))

    async def _query_r(self, sql: str, params: Sequence[Any]) -> list[Row]:
        if self._r is None:
            raise RuntimeError("store is not open")
        if self._r is self._w:
            async with self._lock:
                return list(await self._r.execute_fetchall(sql, params))
        return list(await self._r.execute_fetchall(sql, params))

    async def _begin(self) -> None:
        await _exec(self._writer(), "BEGIN IMMEDIATE")

    async def _rollback_w(self) -> None:
        # Never mask the original error: a failed rollback (e.g. the connection is gone, or
        # SQLite already rolled back on its own) has nothing more to undo.
        try:
            await _exec(self._writer(), "ROLLBACK")
        except (sqlite3.Error, ValueError, RuntimeError):
            pass

    def _room_conflict(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and "conferences.room" in str(exc)


async def _exec(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> None:
    # One trip to aiosqlite's thread (execute + cursor close would be two): every trip
    # is a queue hand-off and a wake-up of the event loop.
    await conn.execute_fetchall(sql, params)
