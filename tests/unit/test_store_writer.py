"""The group-commit writer (store/writer.py): order, batching within a time budget, and a
bad write failing alone. A fake store counts transactions; the writes are plain code."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from confsvc.store import writer as writer_mod
from confsvc.store.writer import Writer


class CountingStore:
    """Each transaction commits what its writes appended, or nothing if one raised."""

    def __init__(self) -> None:
        self.transactions: list[list[int]] = []
        self.committed: list[int] = []
        self._open: list[int] | None = None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[CountingStore]:
        self._open = []
        try:
            yield self
        except BaseException:
            self._open = None
            raise
        self.transactions.append(self._open)
        self.committed.extend(self._open)
        self._open = None

    def write(self, n: int) -> None:
        assert self._open is not None, "a write outside a transaction"
        self._open.append(n)


def writes_of(n: int, busy_s: float = 0.0, fail: bool = False) -> Any:
    async def write(tx: Any) -> None:
        end = time.perf_counter() + busy_s
        while time.perf_counter() < end:  # CPU held on the loop's thread, as SQLite's is
            pass
        if fail:
            raise RuntimeError("bad row")
        tx.write(n)

    return write


async def test_a_burst_commits_in_order_in_one_transaction() -> None:
    store = CountingStore()
    w = Writer(store)  # type: ignore[arg-type]
    futures = [w.submit(writes_of(i)) for i in range(50)]
    await w.flush()
    assert all(f.done() and f.exception() is None for f in futures)
    assert store.committed == list(range(50))
    assert len(store.transactions) == 1
    await w.close()


async def test_a_transaction_stops_taking_writes_when_its_budget_is_spent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writer_mod, "BATCH_BUDGET_S", 0.002)
    store = CountingStore()
    w = Writer(store)  # type: ignore[arg-type]
    for i in range(10):
        w.submit(writes_of(i, busy_s=0.001))
    ticks = 0

    async def ticker() -> None:  # the loop gets turns between the transactions
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await w.flush()
    task.cancel()
    assert store.committed == list(range(10))
    assert 3 <= len(store.transactions) <= 6  # ~2-3 writes of 1 ms per 2 ms budget
    assert ticks >= len(store.transactions)
    await w.close()


async def test_one_bad_write_fails_alone() -> None:
    store = CountingStore()
    w = Writer(store)  # type: ignore[arg-type]
    futures = [w.submit(writes_of(i, fail=(i == 2))) for i in range(5)]
    await w.flush()
    await asyncio.wait(futures)
    assert store.committed == [0, 1, 3, 4]
    assert isinstance(futures[2].exception(), RuntimeError)
    assert [f.exception() for i, f in enumerate(futures) if i != 2] == [None] * 4
    await w.close()
