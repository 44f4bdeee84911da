"""SQLite implementation of `Store`.

Two connections: a writer (all writes and every transaction, serialised by an asyncio lock)
and a reader (WAL lets it read the last committed state while a write is in flight, so a
reader never sees another task's uncommitted transaction). `:memory:` has no second
connection to share a database with, so there reads also go through the writer lock.
Transactions, paging and migrations are shared with PostgreSQL (sql_base.py).

The writer is a plain `sqlite3` connection used on the event loop's thread: a write
statement in WAL mode with synchronous=NORMAL takes tens of microseconds and never waits
for the disk, while a trip to a worker thread (aiosqlite) cost several times that in CPU
(queue hand-off, thread wake-up, loop wake-up), per statement (bench/engine_cpu.py). What
can take long stays off the loop: the API's reads (page queries) on the reader, through
aiosqlite's thread, and WAL checkpoints (the writer's automatic ones are off; `_checkpoint`
runs them on a thread of their own).

Text formats: enums as their values, times as fixed-width ISO 8601 UTC text (so text order
is time order, which the keyset pagination relies on), lists and dicts as JSON text."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite
import structlog

from confsvc.store.sql_base import Row, SqlStore
from confsvc.store.sqlite_calls import SqliteCalls
from confsvc.store.sqlite_conferences import SqliteConferences
from confsvc.store.sqlite_events import SqliteEvents
from confsvc.store.sqlite_recordings import SqliteRecordings
from confsvc.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from confsvc.store.sqlite_transcribes import SqliteTranscribes
from confsvc.store.sqlite_webhooks import SqliteWebhooks

__all__ = ["CHECKPOINT_COMMITS", "MIGRATIONS", "SCHEMA_VERSION", "SqliteStore"]

log = structlog.get_logger(__name__)

# Commits between two WAL checkpoints (SQLite's own default is every 1000 pages).
CHECKPOINT_COMMITS = 500


class SqliteStore(
    SqlStore,
    SqliteConferences,
    SqliteRecordings,
    SqliteTranscribes,
    SqliteEvents,
    SqliteWebhooks,
    SqliteCalls,
):
    """`Store` on one SQLite file. Use `await open()`/`close()` or `async with`. The
    resources' methods come from the sqlite_* parts (shared with PgStore)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)
        self._memory = self.path == ":memory:"
        self._w: sqlite3.Connection | None = None
        self._r: aiosqlite.Connection | None = None
        self._commits_since_checkpoint = 0
        self._checkpointing: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        if self._w is not None:
            return
        if not self._memory:
            parent = Path(self.path).parent
            await asyncio.to_thread(parent.mkdir, parents=True, exist_ok=True)
        # isolation_level=None: autocommit; transactions are explicit BEGIN/COMMIT.
        w = sqlite3.connect(self.path, isolation_level=None)
        w.row_factory = sqlite3.Row
        pragmas = ["journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"]
        if not self._memory:
            pragmas.append("wal_autocheckpoint=0")  # _checkpoint does it, off the loop
        for pragma in pragmas:
            _exec(w, f"PRAGMA {pragma}")
        self._w = w
        await self._migrate()
        if not self._memory:
            r = await aiosqlite.connect(self.path, isolation_level=None)
            r.row_factory = sqlite3.Row
            await r.execute_fetchall("PRAGMA busy_timeout=5000")
            await r.execute_fetchall("PRAGMA query_only=ON")
            self._r = r

    async def close(self) -> None:
        if self._checkpointing is not None:
            await asyncio.gather(self._checkpointing, return_exceptions=True)
        w, r, self._w, self._r = self._w, self._r, None, None
        if r is not None:
            await r.close()
        if w is not None:
            w.close()

    # --- the primitives of SqlStore ------------------------------------------------------

    def _writer(self) -> sqlite3.Connection:
        if self._w is None:
            raise RuntimeError("store is not open")
        return self._w

    async def _exec_w(self, sql: str, params: Sequence[Any] = ()) -> None:
        _exec(self._writer(), sql, params)

    async def _exec_many_w(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._writer().executemany(sql, rows).close()

    async def _query_w(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return self._writer().execute(sql, params).fetchall()

    async def _query_r(self, sql: str, params: Sequence[Any]) -> list[Row]:
        if self._memory:
            async with self._lock:
                return self._writer().execute(sql, params).fetchall()
        if self._r is None:
            raise RuntimeError("store is not open")
        return list(await self._r.execute_fetchall(sql, params))

    async def _begin(self) -> None:
        _exec(self._writer(), "BEGIN IMMEDIATE")

    async def _rollback_w(self) -> None:
        # Never mask the original error: a failed rollback (e.g. the connection is gone, or
        # SQLite already rolled back on its own) has nothing more to undo.
        try:
            w = self._writer()
            if w.in_transaction:
                _exec(w, "ROLLBACK")
        except (sqlite3.Error, ValueError, RuntimeError):
            pass

    def _room_conflict(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and "conferences.room" in str(exc)

    # --- checkpoints: the WAL folded back into the database, off the event loop ---------

    def _committed(self) -> None:
        """After each commit: every CHECKPOINT_COMMITS commits, a checkpoint on a thread
        (a passive one: it never blocks the writer)."""
        if self._memory:
            return
        self._commits_since_checkpoint += 1
        if self._commits_since_checkpoint < CHECKPOINT_COMMITS:
            return
        if self._checkpointing is None or self._checkpointing.done():
            self._commits_since_checkpoint = 0
            self._checkpointing = asyncio.get_running_loop().create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        try:
            await asyncio.to_thread(_checkpoint_file, self.path)
        except sqlite3.Error as exc:  # the next one tries again; the WAL only grows meanwhile
            log.warning("WAL checkpoint failed", error=str(exc))


def _exec(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> None:
    conn.execute(sql, params).close()


def _checkpoint_file(path: str) -> None:
    """A passive WAL checkpoint on a connection of its own (this runs on a thread)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        conn.close()
