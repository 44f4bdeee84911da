"""Which controller owns the ARI application: a PostgreSQL session advisory lock.

Why a session advisory lock rather than a lease row: it is held exactly as long as the
owner's database session lives. A kill -9 (or a lost machine: TCP keepalive) closes that
session and PostgreSQL frees the lock at once, with no lease length to tune against clock
skew and no renewals to miss under load. The standby polls pg_try_advisory_lock on its own
session; the first to get it owns ARI.

No split brain: the owner watches its lock session (a query every WATCH_INTERVAL); if it
is lost, the lock may be someone else's by now, so `lost` is set and the controller exits
(server.py) rather than keep driving Asterisk. Where the owner is: its lock session's
application_name carries its HTTP base URL, read from pg_locks + pg_stat_activity, so
there is no table to keep in step with the lock."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

log = structlog.get_logger(__name__)

LOCK_CLASS = 7311  # as store/pg.py: the first key names confsvc
ARI_OWNER_LOCK = 3
NAME_PREFIX = "confsvc "
POLL_INTERVAL = 0.5  # a standby asks for the lock this often
WATCH_INTERVAL = 1.0  # the owner checks its lock session this often

_OWNER_SQL = """
SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
_GONE = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.TimeoutError)


class Ownership:
    def __init__(self, db_url: str, my_url: str) -> None:
        self._db_url = db_url
        self.my_url = my_url
        self._conn: asyncpg.Connection | None = None
        self.owner = False
        self.lost = asyncio.Event()  # set when the owner's lock session is gone
        self._watch: asyncio.Task[None] | None = None
        self._using = asyncio.Lock()  # one query at a time on the session (asyncpg's rule)

    async def _session(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                self._db_url, server_settings={"application_name": NAME_PREFIX + self.my_url}
            )
        return self._conn

    async def try_acquire(self) -> bool:
        async with self._using:
            conn = await self._session()
            got = await conn.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", LOCK_CLASS, ARI_OWNER_LOCK
            )
        if got:
            self.owner = True
            self._watch = asyncio.get_running_loop().create_task(self._watch_session())
        return bool(got)

    async def acquire(self) -> None:
        """Wait until this controller owns the ARI application."""
        while True:
            try:
                if await self.try_acquire():
                    return
            except _GONE as exc:  # the database is away: keep asking
                log.warning("ARI ownership: database unavailable", error=str(exc))
                self._conn = None
            await asyncio.sleep(POLL_INTERVAL)

    async def owner_url(self) -> str | None:
        """The HTTP base URL of the controller that owns ARI now (None: nobody)."""
        async with self._using:
            conn = await self._session()
            name = await conn.fetchval(_OWNER_SQL, LOCK_CLASS, ARI_OWNER_LOCK)
        if isinstance(name, str) and name.startswith(NAME_PREFIX):
            return name[len(NAME_PREFIX) :]
        return None

    async def _watch_session(self) -> None:
        conn = self._conn
        while conn is not None:
            await asyncio.sleep(WATCH_INTERVAL)
            try:
                async with self._using:
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), WATCH_INTERVAL * 5)
            except _GONE as exc:
                log.error("ARI ownership lost: the lock session is gone", error=str(exc))
                self.owner = False
                self.lost.set()
                return

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()  # the lock goes with the session
