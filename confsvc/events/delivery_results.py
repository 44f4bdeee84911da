"""The deliverer's attempts, written behind in batches: one transaction for every outcome
that came in during the last few milliseconds, instead of one per delivery.

Memory is ahead of the table for at most that long. Nothing is lost by it that the
outbox promises: a crash in between leaves those rows pending, so they are sent again
after the restart (at least once; receivers dedupe by event id). A failed write keeps its
outcomes and is tried again (a newer outcome of the same delivery replaces an older one)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import structlog

from confsvc.domain import now as utcnow
from confsvc.events.model import Delivery

log = structlog.get_logger(__name__)

BATCH_DELAY = 0.005  # seconds an outcome waits for others to join its write
RETRY_DELAY = 1.0  # after a failed write


class AttemptStore(Protocol):
    async def save_attempts(self, deliveries: Sequence[Delivery], now: datetime) -> None: ...


class AttemptWriter:
    def __init__(
        self,
        store: AttemptStore,
        *,
        delay: float = BATCH_DELAY,
        retry_delay: float = RETRY_DELAY,
    ) -> None:
        self.store = store
        self.delay = delay
        self.retry_delay = retry_delay
        self._pending: dict[str, Delivery] = {}  # by delivery id: the latest outcome
        self._lock = asyncio.Lock()  # one write at a time, in order
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, d: Delivery) -> None:
        """Queue the delivery's state after an attempt; written within `delay`."""
        self._pending[d.id] = d
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox-log")

    @property
    def backlog(self) -> int:
        return len(self._pending)

    async def flush(self) -> bool:
        """Write everything queued so far now; False when the write failed (kept)."""
        async with self._lock:
            return await self._write()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if not await self.flush():
            log.warning("delivery outcomes not stored: sent again after restart",
                        count=len(self._pending))  # fmt: skip

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.delay)  # let the outcomes arriving meanwhile join
            self._wake.clear()
            async with self._lock:
                ok = await self._write()
            if not ok:
                await asyncio.sleep(self.retry_delay)
                self._wake.set()

    async def _write(self) -> bool:
        if not self._pending:
            return True
        batch, self._pending = self._pending, {}
        try:
            await self.store.save_attempts(list(batch.values()), utcnow())
        except Exception:
            log.exception("storing delivery outcomes failed: will retry", count=len(batch))
            for id, d in batch.items():
                self._pending.setdefault(id, d)  # unless a newer outcome came meanwhile
            return False
        return True
