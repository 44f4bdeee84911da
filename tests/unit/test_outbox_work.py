"""The outbox works in proportion to what changed (issue 12, item 5): pending rows are read
once at start and new ones arrive from commits (never from a rollback), outcomes are
written in batches, order holds per group under concurrency, one tenant's slow receiver
does not hold up another's deliveries, a deleted webhook stops at once, and a restart
delivers what was left. The WebSocket hub is fed by commits too."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from confsvc.config import Settings
from confsvc.domain import now
from confsvc.events import wiring as events_wiring
from confsvc.events.model import DELIVERED, PENDING, Delivery, Event, Webhook
from confsvc.events.outbox import Outbox
from confsvc.events.ws import Hub
from confsvc.store.sqlite import SqliteStore

SECRETS = "cust-a:secret-a,cust-b:secret-b"


def settings(**kw: Any) -> Settings:
    return Settings(**{"webhook_secrets": SECRETS, **kw})


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "work.sqlite3") as s:
        events_wiring.connect(s, settings())
        yield s


async def subscribe(store: SqliteStore, customer: str, id: str) -> None:
    await store.create_webhook(Webhook(id, customer, f"http://{id}.test/in", (), now()))


async def fire(store: SqliteStore, customer: str, conference: str, n: int = 1) -> None:
    assert store.journal is not None
    for i in range(n):
        data = {"id": f"cc-{i}", "conference_id": conference}
        await store.journal.emit(store, "conferencecall_digits", customer, data)


class Sender:
    """Records what is sent; `slow` hosts hang until released; checks that a group never
    has two requests in flight."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.got: list[tuple[str, str, int]] = []  # (host, conference, seq)
        self.in_flight: set[tuple[str, str]] = set()
        self.overlaps = 0
        self.slow: set[str] = set()
        self.release = asyncio.Event()
        self.arrived = asyncio.Event()

    async def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> int:
        event = json.loads(body)
        host = url.split("/")[2]
        group = (host, event["conference_id"])
        if group in self.in_flight:
            self.overlaps += 1
        self.in_flight.add(group)
        try:
            if host in self.slow:
                await self.release.wait()
            elif self.delay:
                await asyncio.sleep(random.uniform(0, self.delay))
            self.got.append((host, event["conference_id"], event["seq"]))
            self.arrived.set()
            return 200
        finally:
            self.in_flight.discard(group)

    async def until(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.got) < count:
                self.arrived.clear()
                await self.arrived.wait()


def count_reads(store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many statements read each table (by its FROM), from now on."""
    reads: dict[str, int] = defaultdict(int)
    real = store._fetch

    async def fetch(sql: str, params: Any) -> Any:
        if sql.lstrip().upper().startswith("SELECT"):
            for table in ("deliveries", "events"):
                if f"FROM {table}" in sql:
                    reads[table] += 1
        return await real(sql, params)

    monkeypatch.setattr(store, "_fetch", fetch)
    return reads


async def test_pending_rows_are_read_once_then_commits_feed_the_queues(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await subscribe(store, "cust-a", "wh-1")
    await fire(store, "cust-a", "conf-1", 5)  # pending before the start
    reads = count_reads(store, monkeypatch)
    sender = Sender()
    box = Outbox(store, settings(), sender=sender)
    await box.start()
    try:
        await sender.until(5)
        for conf in ("conf-1", "conf-2", "conf-3"):
            await fire(store, "cust-a", conf, 10)
        await sender.until(35)
        await box.attempts.flush()
    finally:
        await box.close()
    assert reads["deliveries"] == 1  # the load at start; none per delivery
    assert await store.count_deliveries(DELIVERED) == 35


async def test_outcomes_are_written_in_batches(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(5):
        await subscribe(store, "cust-a", f"wh-{n}")
    writes: list[int] = []
    real = store.save_attempts

    async def save_attempts(deliveries: Sequence[Delivery], now: Any) -> None:
        writes.append(len(deliveries))
        await real(deliveries, now)

    monkeypatch.setattr(store, "save_attempts", save_attempts)
    sender = Sender()
    box = Outbox(store, settings(webhook_tenant_concurrency=20), sender=sender)
    await box.start()
    try:
        async with store.transaction():  # 100 deliveries in one commit
            for conf in range(20):
                await fire(store, "cust-a", f"conf-{conf}")
        await sender.until(100)
        await box.attempts.flush()
    finally:
        await box.close()
    assert sum(writes) == 100 and len(writes) < 25, writes
    assert await store.count_deliveries(DELIVERED) == 100


async def test_order_per_group_holds_under_concurrency(store: SqliteStore) -> None:
    for customer in ("cust-a", "cust-b"):
        await subscribe(store, customer, f"{customer}-1")
        await subscribe(store, customer, f"{customer}-2")
    sender = Sender(delay=0.005)
    box = Outbox(store, settings(webhook_tenant_concurrency=4), sender=sender)
    await box.start()
    try:
        await asyncio.gather(
            *(
                fire(store, customer, f"{customer}-conf-{conf}", 6)
                for customer in ("cust-a", "cust-b")
                for conf in range(5)
            )
        )
        await sender.until(2 * 5 * 6 * 2, timeout=10)
    finally:
        await box.close()
    assert sender.overlaps == 0  # never two requests of one group at once
    per_group: dict[tuple[str, str], list[int]] = defaultdict(list)
    for host, conf, seq in sender.got:
        per_group[(host, conf)].append(seq)
    assert len(per_group) == 20
    assert all(seqs == sorted(seqs) and len(seqs) == 6 for seqs in per_group.values())


async def test_a_slow_receiver_of_one_tenant_does_not_delay_another(
    store: SqliteStore,
) -> None:
    await subscribe(store, "cust-a", "slow")
    await subscribe(store, "cust-b", "fast")
    sender = Sender()
    sender.slow.add("slow.test")
    cap = 3
    box = Outbox(store, settings(webhook_tenant_concurrency=cap), sender=sender)
    await box.start()
    try:
        for conf in range(20):  # tenant A: 20 queues, each stuck on a receiver that hangs
            await fire(store, "cust-a", f"a-{conf}")
        await asyncio.sleep(0.05)
        assert len(sender.in_flight) == cap  # A holds its share, no more
        started = time.monotonic()
        for conf in range(10):
            await fire(store, "cust-b", f"b-{conf}", 3)
        await sender.until(30, timeout=5)
        assert time.monotonic() - started < 2
        assert {host for host, _, _ in sender.got} == {"fast.test"}
        sender.release.set()
        await sender.until(50, timeout=5)
    finally:
        sender.release.set()
        await box.close()


async def test_a_webhook_deleted_while_running_gets_nothing_more(store: SqliteStore) -> None:
    await subscribe(store, "cust-a", "gone")
    calls: list[str] = []
    third = asyncio.Event()

    async def down(method: str, url: str, headers: dict[str, str], body: bytes) -> int:
        calls.append(url)
        if len(calls) >= 3:
            third.set()
        return 503

    box = Outbox(store, settings(webhook_backoff_base=0.02, webhook_backoff_cap=0.02), sender=down)
    await box.start()
    try:
        await fire(store, "cust-a", "conf-1", 3)
        await asyncio.wait_for(third.wait(), 5)  # retried, the head blocking the rest
        await store.delete_webhook("gone", now())
        await asyncio.sleep(0.05)
        tried = len(calls)
        await asyncio.sleep(0.2)
        assert len(calls) == tried  # not one more attempt
        assert not box.queues.groups
    finally:
        await box.close()


async def test_a_restart_delivers_what_was_left_in_order(tmp_path: Path) -> None:
    path = tmp_path / "restart.sqlite3"
    first = Sender()
    async with SqliteStore(path) as s:
        events_wiring.connect(s, settings())
        await subscribe(s, "cust-a", "wh-1")
        first.slow.add("wh-1.test")  # in flight when the controller stops
        box = Outbox(s, settings(), sender=first)
        await box.start()
        await fire(s, "cust-a", "conf-1", 4)
        await fire(s, "cust-a", "conf-2", 2)
        await asyncio.sleep(0.05)
        await box.close()
        assert await s.count_deliveries(PENDING) == 6
    again = Sender()
    async with SqliteStore(path) as s:
        box = Outbox(s, settings(), sender=again)
        await box.start()
        try:
            await again.until(6)
        finally:
            await box.close()
        assert await s.count_deliveries(DELIVERED) == 6
    assert [seq for _, conf, seq in again.got if conf == "conf-1"] == [1, 2, 3, 4]
    assert [seq for _, conf, seq in again.got if conf == "conf-2"] == [5, 6]


class Listener:
    def __init__(self) -> None:
        self.added: list[list[str]] = []
        self.deleted: list[str] = []

    def deliveries_added(self, deliveries: Sequence[Delivery]) -> None:
        self.added.append([d.id for d in deliveries])

    def webhook_deleted(self, webhook_id: str) -> None:
        self.deleted.append(webhook_id)


async def test_the_store_hands_over_deliveries_after_commit_never_on_rollback(
    store: SqliteStore,
) -> None:
    await subscribe(store, "cust-a", "wh-1")
    await subscribe(store, "cust-a", "wh-2")
    listener = Listener()
    store.add_delivery_listener(listener)
    with pytest.raises(RuntimeError):
        async with store.transaction():
            await fire(store, "cust-a", "conf-1")
            raise RuntimeError("rolled back")
    assert listener.added == [] and await store.count_deliveries(PENDING) == 0
    async with store.transaction():
        await fire(store, "cust-a", "conf-1", 2)
        assert listener.added == []  # not before the commit
    (batch,) = listener.added  # one hand-over for the transaction, in order
    rows, _ = await store.list_deliveries("wh-1")
    assert len(batch) == 4 and {r.id for r in rows} <= set(batch)
    await store.delete_webhook("wh-1", now())
    assert listener.deleted == ["wh-1"]
    store.remove_delivery_listener(listener)


async def test_the_hub_is_fed_by_commits_without_reading_the_events_table(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = Hub(store)
    await hub.start()
    client = hub.connect("cust-a")
    client.subscribe({"*"}, None)
    reads = count_reads(store, monkeypatch)
    try:
        with pytest.raises(RuntimeError):
            async with store.transaction():
                await fire(store, "cust-a", "conf-0")
                raise RuntimeError("rolled back: never offered")
        await fire(store, "cust-a", "conf-1", 3)
        await fire(store, "cust-b", "conf-2")  # another tenant's: not offered
        got: list[Event] = []
        while not client.queue.empty():
            item = client.queue.get_nowait()
            assert isinstance(item, Event)
            got.append(item)
    finally:
        hub.disconnect(client)
        await hub.close()
    assert [(e.conference_id, e.seq) for e in got] == [("conf-1", 1), ("conf-1", 2), ("conf-1", 3)]
    assert all(e.store_seq > 0 and e.id for e in got)
    assert reads["events"] == 0


async def test_a_delivery_committed_while_loading_is_not_lost_nor_doubled(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await subscribe(store, "cust-a", "wh-1")
    await fire(store, "cust-a", "conf-1", 2)
    real = store.pending_deliveries

    async def slow_read() -> AsyncIterator[list[Delivery]]:
        async for batch in real():
            await fire(store, "cust-a", "conf-1", 2)  # committed during the load
            yield batch

    monkeypatch.setattr(store, "pending_deliveries", slow_read)
    sender = Sender()
    box = Outbox(store, settings(), sender=sender)
    await box.start()
    try:
        await sender.until(4)
        await asyncio.sleep(0.05)
    finally:
        await box.close()
    assert [seq for _, _, seq in sender.got] == [1, 2, 3, 4]
