"""Group commit: the engine's writes go to the store behind the state in memory.

A transition changes memory, carries out its ARI effects and hands its rows to `submit`;
one task commits everything queued so far in one transaction, so a burst of joins costs
one BEGIN/COMMIT instead of one per change, and no lane waits for the disk unless it
asks to. Writes commit in submission order (the events derived from them keep that order).

Who waits: an HTTP command answers only after `flush()` (its change is committed); an
ARI-driven change (join, leave) does not wait: a crash in between is repaired by the
reconcile on restart, as Asterisk still holds the media."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from confsvc.store.base import Store

log = structlog.get_logger(__name__)

Write = Callable[[Store], Awaitable[None]]
# A transaction stops taking queued writes after this long (they wait for the next one).
BATCH_BUDGET_S = 0.004


class Writer:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: collections.deque[tuple[Write, asyncio.Future[None]]] = collections.deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last: asyncio.Future[None] | None = None

    def submit(self, write: Write) -> asyncio.Future[None]:
        """Queue `write` (it runs inside the batch's transaction); the future is done when
        it is committed. Nobody has to await it: a failure is logged here."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(_log_failure)
        self._pending.append((write, fut))
        self._last = fut
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        return fut

    async def flush(self) -> None:
        """Wait until everything submitted so far is committed (or has failed)."""
        last = self._last
        if last is not None and not last.done():
            await asyncio.wait([last])

    async def close(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            # Let every task that is ready run first: what they submit joins this batch.
            await asyncio.sleep(0)
            self._wake.clear()
            while self._pending:
                await self._commit_some()
                if self._pending:
                    # The SQLite writer runs on the loop's thread: between two
                    # transactions the API and the event stream get their turn.
                    await asyncio.sleep(0)

    async def _commit_some(self) -> None:
        """One transaction: queued writes in order until BATCH_BUDGET_S has been spent
        (at least one), so a burst (200 creations fanning out to 20 webhooks each)
        never holds the loop for longer than that plus one write."""
        batch: list[tuple[Write, asyncio.Future[None]]] = []
        started = time.perf_counter()
        try:
            async with self._store.transaction() as tx:
                while self._pending and (
                    not batch or time.perf_counter() - started < BATCH_BUDGET_S
                ):
                    batch.append(self._pending.popleft())
                    await batch[-1][0](tx)
        except Exception as exc:
            if len(batch) == 1:
                log.exception("store write failed")
                _settle(batch, error=exc)
                return
            # One bad write must not take the others down: each again on its own.
            for item in batch:
                await self._commit_one(item)
            return
        _settle(batch, error=None)

    async def _commit_one(self, item: tuple[Write, asyncio.Future[None]]) -> None:
        try:
            async with self._store.transaction() as tx:
                await item[0](tx)
        except Exception as exc:
            log.exception("store write failed")
            _settle([item], error=exc)
            return
        _settle([item], error=None)


def _settle(batch: list[tuple[Write, asyncio.Future[None]]], *, error: Exception | None) -> None:
    for _, fut in batch:
        if fut.done():
            continue
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(None)


def _log_failure(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()  # retrieved: _commit has logged it with its traceback
