"""What SqliteStore and PgStore share: transactions, after-commit hand-off, the journal
hook, keyset paging and the migration runner. Nothing here knows a driver: a backend
supplies five primitives (`_exec_w`, `_query_w`, `_query_r`, `_begin`, `_rollback_w`;
COMMIT goes through `_exec_w`) and may take a lock around migrations (`_lock_migrations`).

SQL is written once, in SQLite's dialect with `?` placeholders (the sqlite_* parts);
PostgreSQL translates it (pg_dialect.py). One writer connection per process, its
transactions serialised by an asyncio lock (the group-commit writer already sends one
transaction at a time; this keeps "other tasks wait to write" true on both backends)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Self

from confsvc.domain.conference import Conference
from confsvc.domain.ids import now, to_iso
from confsvc.events.journal import Journal
from confsvc.store.base import UNKNOWN
from confsvc.store.listeners import Listeners
from confsvc.store.sqlite_ops import Row
from confsvc.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION


@dataclass
class _Tx:
    store: SqlStore
    task: asyncio.Task[Any] | None
    active: bool = True
    # Run once the transaction has committed (dropped on rollback): see after_commit.
    after: list[Callable[[], None]] = field(default_factory=list)
    # What the transaction made, by kind, for after-commit listeners: see collect.
    made: dict[str, list[Any]] = field(default_factory=dict)
    # Locks a backend took once in this transaction (PostgreSQL's event order lock).
    held: set[str] = field(default_factory=set)


# Which transaction the current task is inside. Tasks copy the context when created, so
# ownership is also checked by task identity (a child task must not ride on the parent's
# transaction, which may be committed before the child writes).
_CURRENT_TX: ContextVar[_Tx | None] = ContextVar("confsvc_store_tx", default=None)


class StoreUnavailable(RuntimeError):
    """The database cannot be reached or logged into (serve ends with one log line)."""


class SqlStore:
    """The driver-independent half of a SQL store (see the module docstring).

    `journal` (set by events/wiring.py): when set, every save of a conference,
    conferencecall or recording reads the stored version first and hands (old, new) to it
    in the same transaction, which appends the resulting events."""

    journal: Journal | None = None

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        # The parts' in-memory state, made here once (the mixins declare it).
        self._hooks: dict[str, Any] = {}  # customer id -> webhooks (sqlite_webhooks.py)
        self._secrets: dict[str, str] = {}  # customer id -> signing secret
        self._secrets_version = 0
        self._delivery_listeners: Listeners[Any] = Listeners()
        self._event_listeners: Listeners[Any] = Listeners()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    # --- the backend's primitives ---------------------------------------------------------

    async def _exec_w(self, sql: str, params: Sequence[Any] = ()) -> None:
        """One statement on the writer connection."""
        raise NotImplementedError

    async def _exec_many_w(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for each of `rows` on the writer connection (inside a
        transaction): one call into the driver instead of one per row."""
        raise NotImplementedError

    async def _query_w(self, sql: str, params: Sequence[Any]) -> list[Row]:
        """Rows of one statement on the writer connection (inside a transaction)."""
        raise NotImplementedError

    async def _query_r(self, sql: str, params: Sequence[Any]) -> list[Row]:
        """Rows of one statement seeing committed data only (outside a transaction)."""
        raise NotImplementedError

    async def _begin(self) -> None:
        raise NotImplementedError

    async def _rollback_w(self) -> None:
        """Undo the open transaction; never raises (the original error matters)."""
        raise NotImplementedError

    def _committed(self) -> None:
        """After each commit, before the after-commit hand-off (SQLite: WAL checkpoints)."""

    async def _lock_migrations(self) -> None:
        """Inside the migration transaction, before anything is read (PostgreSQL: an
        advisory lock, so two processes starting at once apply each version once)."""

    async def _order_events(self) -> None:
        """Before the first event of a transaction (append_event): make events commit in
        store_seq order and number each tenant's without a gap. SQLite has one writer,
        so nothing to do; PostgreSQL takes a lock held until the commit."""

    # --- migrations -----------------------------------------------------------------------

    async def _migrate(self) -> None:
        async with self.transaction():
            await self._lock_migrations()
            await self._exec_w(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            rows = await self._query_w("SELECT version FROM schema_version", ())
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
                    await self._exec_w(sql)
                await self._exec_w(
                    "INSERT INTO schema_version VALUES (?, ?)", (version, to_iso(now()))
                )

    async def schema_version(self) -> int:
        rows = await self._fetch("SELECT MAX(version) FROM schema_version", ())
        return int(rows[0][0] or 0)

    # --- transactions -----------------------------------------------------------------------

    def _current(self) -> _Tx | None:
        tx = _CURRENT_TX.get()
        if tx is not None and tx.active and tx.store is self and tx.task is asyncio.current_task():
            return tx
        return None

    def _in_tx(self) -> bool:
        return self._current() is not None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Self]:
        """Atomic unit of work; yields the store itself, whose methods join it."""
        if self._in_tx():  # nested: join the outer transaction
            yield self
            return
        async with self._lock:
            try:
                await self._begin()
            except BaseException:  # cancelled mid-BEGIN: it may still have run
                await self._rollback_w()
                raise
            tx = _Tx(self, asyncio.current_task())
            token = _CURRENT_TX.set(tx)
            try:
                yield self
                await self._exec_w("COMMIT")
            except BaseException:  # body or COMMIT failed: undo everything
                await self._rollback_w()
                raise
            finally:
                tx.active = False
                _CURRENT_TX.reset(token)
        self._committed()
        for fn in tx.after:
            fn()

    def _hold_once(self, name: str) -> bool:
        """True the first time `name` is asked for in the current transaction."""
        tx = self._current()
        if tx is None or name in tx.held:
            return False
        tx.held.add(name)
        return True

    def after_commit(self, fn: Callable[[], None]) -> None:
        """fn() once the current transaction of this task commits (never on rollback);
        at once outside a transaction. fn must not raise."""
        tx = self._current()
        if tx is None:
            fn()
        elif fn not in tx.after:
            tx.after.append(fn)

    def collect(self, kind: str, item: Any, hand_over: Callable[[list[Any]], None]) -> None:
        """Keep `item` with the current transaction's other items of this kind: once it
        commits, hand_over(items) is called once with all of them in order (never on
        rollback); at once outside a transaction (the write is already committed)."""
        tx = self._current()
        if tx is None:
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
            await self.journal.changed(self, old, new, conference)  # type: ignore[arg-type]

    async def _write(self, sql: str, params: Sequence[Any]) -> None:
        if self._in_tx():
            await self._exec_w(sql, params)
            return
        async with self._lock:  # one statement in autocommit mode: atomic on its own
            await self._exec_w(sql, params)
            self._committed()

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        if self._in_tx():  # read our own uncommitted writes
            return await self._query_w(sql, params)
        return await self._query_r(sql, params)

    def _room_conflict(self, exc: BaseException) -> bool:
        """exc is the live-room unique index refusing a write (-> RoomTaken)."""
        raise NotImplementedError
