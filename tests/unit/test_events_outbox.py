"""The webhook outbox: order per (receiver, conference), blocking, backoff, giving up,
at least once, durability across restarts, and real signed HTTP requests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from confsvc.config import Settings
from confsvc.domain import now
from confsvc.events import wiring as events_wiring
from confsvc.events.model import CANCELLED, DELIVERED, FAILED, PENDING, Delivery, Webhook
from confsvc.events.outbox import Outbox, backoff
from confsvc.store.sqlite import SqliteStore
from tests.support.outbound import rows_of_every_kind
from tests.support.signatures import verifies

SECRET = "test-secret"


def settings(**kw: Any) -> Settings:
    base: dict[str, Any] = {
        "webhook_secrets": f"cust-a:{SECRET},cust-b:other",
        "webhook_backoff_base": 1.0,
        "webhook_backoff_cap": 8.0,
        "webhook_retry_for": 3600.0,
    }
    return Settings(**{**base, **kw})


class Clock:
    def __init__(self) -> None:
        self.t = time.time() + 5  # every stored event is already due

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Receiver:
    """A fake HTTP sender: records every request; `down` conferences answer 503."""

    got: list[dict[str, Any]] = field(default_factory=list)
    down: set[str] = field(default_factory=set)
    all_down: bool = False

    async def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes) -> int:
        payload = json.loads(body) if body else {}
        conf = payload.get("conference_id", "")
        ok = not self.all_down and conf not in self.down
        self.got.append({"url": url, "headers": headers, "body": payload, "ok": ok})
        return 200 if ok else 503

    def seqs(self, conference_id: str | None = None, ok: bool = True) -> list[int]:
        return [
            g["body"]["seq"]
            for g in self.got
            if g["ok"] == ok and conference_id in (None, g["body"]["conference_id"])
        ]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "outbox.sqlite3") as s:
        events_wiring.connect(s, settings())
        yield s


async def subscribe(store: SqliteStore, customer: str = "cust-a", id: str = "wh-1") -> None:
    await store.create_webhook(Webhook(id, customer, f"http://hooks.test/{id}", (), now()))


async def fire(
    store: SqliteStore, conference_id: str, n: int = 1, customer: str = "cust-a"
) -> None:
    journal = store.journal
    assert journal is not None
    for i in range(n):
        data = {"id": f"cc-{i}", "conference_id": conference_id}
        await journal.emit(store, "conferencecall_digits", customer, data)


def outbox(store: SqliteStore, clock: Clock, receiver: Receiver, **kw: Any) -> Outbox:
    return Outbox(store, settings(**kw), clock=clock, sender=receiver)


async def oldest_pending(store: SqliteStore, webhook_id: str = "wh-1") -> Delivery:
    """The head of the webhook's queue, as the delivery log shows it."""
    rows, _ = await store.list_deliveries(webhook_id, page_size=100)
    return min((r for r in rows if r.status == PENDING), key=lambda r: r.seq)


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n, 1.0, 8.0) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    assert backoff(500, 0.5, 60.0) == 60.0  # no overflow on long outages


async def test_in_order_per_conference_and_a_failure_blocks_only_its_conference(
    store: SqliteStore,
) -> None:
    await subscribe(store)
    await fire(store, "conf-1", 3)
    await fire(store, "conf-2", 2)
    clock, rx = Clock(), Receiver(down={"conf-1"})
    box = outbox(store, clock, rx)
    # Each pass sends the oldest pending row of each (webhook, conference) group.
    assert await box.run_once() == 2
    assert await box.run_once() == 1  # conf-2's second; conf-1 waits for its retry
    assert await box.run_once() == 0
    conf1 = [g["body"]["seq"] for g in rx.got if g["body"]["conference_id"] == "conf-1"]
    assert len(conf1) == 1  # only its first event was tried: the later ones are blocked
    assert rx.seqs("conf-2") == sorted(rx.seqs("conf-2")) and len(rx.seqs("conf-2")) == 2
    rx.down.clear()
    clock.advance(1.0)
    for _ in range(3):
        assert await box.run_once() == 1
    first = rx.got[0]["body"]["seq"]
    assert rx.seqs("conf-1") == [first, first + 1, first + 2]  # every one, in order
    assert await store.count_deliveries(PENDING) == 0
    assert await store.count_deliveries(DELIVERED) == 5


async def test_retries_follow_the_backoff_then_give_up_and_the_next_proceeds(
    store: SqliteStore,
) -> None:
    await subscribe(store)
    await fire(store, "conf-1", 2)
    clock, rx = Clock(), Receiver(all_down=True)
    box = outbox(store, clock, rx, webhook_retry_for=20.0)
    start = clock.t
    delays = []
    while True:
        head = await oldest_pending(store)
        if head.attempts and head.event_seq != rx.got[0]["body"]["seq"]:
            break  # the first one was given up: the second is the head now
        clock.t = max(clock.t, head.next_at)
        assert await box.run_once() == 1
        after = await store.get_delivery(head.id)
        assert after is not None
        if after.status == FAILED:
            break
        delays.append(round(after.next_at - clock.t, 6))
    assert delays[:5] == [1.0, 2.0, 4.0, 8.0, 8.0]
    given_up = await store.get_delivery(head.id)
    assert given_up is not None and given_up.status == FAILED
    assert given_up.last_attempt_at is not None and given_up.last_attempt_at - start >= 20.0
    assert given_up.last_error == "HTTP 503" and given_up.last_status_code == 503
    # The next event of the conference is not blocked any more.
    rx.all_down = False
    assert await box.run_once() == 1
    assert rx.got[-1]["ok"] and rx.got[-1]["body"]["seq"] == given_up.event_seq + 1


async def test_at_least_once_a_crash_after_sending_sends_again(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await subscribe(store)
    await fire(store, "conf-1")
    rx = Receiver()
    box = outbox(store, Clock(), rx)

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("power cut before the outcome was stored")

    monkeypatch.setattr(store, "save_attempts", crash)
    await box.run_once()
    await box.close()  # the process dies: its outcome never reached the table
    monkeypatch.undo()
    assert await store.count_deliveries(PENDING) == 1
    await outbox(store, Clock(), rx).run_once()  # restarted
    assert len(rx.got) == 2 and rx.got[0]["body"]["id"] == rx.got[1]["body"]["id"]
    assert await store.count_deliveries(DELIVERED) == 1


async def test_pending_rows_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "restart.sqlite3"
    async with SqliteStore(path) as s:
        events_wiring.connect(s, settings())
        await subscribe(s)
        await fire(s, "conf-1", 3)
        rx = Receiver(all_down=True)
        await outbox(s, Clock(), rx).run_once()
    async with SqliteStore(path) as s:  # "after kill -9": only the file is left
        rx = Receiver()
        box = outbox(s, Clock(), rx)
        clock = box.clock
        assert isinstance(clock, Clock)
        clock.advance(2)
        while await box.run_once():
            pass
        assert len(rx.seqs()) == 3 and rx.seqs() == sorted(rx.seqs())


async def test_deleting_a_webhook_cancels_its_pending_rows(store: SqliteStore) -> None:
    await subscribe(store)
    await fire(store, "conf-1", 2)
    await store.delete_webhook("wh-1", now())
    assert await store.count_deliveries(CANCELLED) == 2
    rx = Receiver()
    assert await outbox(store, Clock(), rx).run_once() == 0


async def test_tenant_webhooks_get_only_their_tenants_events(store: SqliteStore) -> None:
    await subscribe(store, "cust-a", "wh-a")
    await subscribe(store, "cust-b", "wh-b")
    await fire(store, "conf-a", 2, customer="cust-a")
    rx = Receiver()
    box = outbox(store, Clock(), rx)
    while await box.run_once():
        pass
    assert {g["url"] for g in rx.got} == {"http://hooks.test/wh-a"}
    assert all(g["body"]["customer_id"] == "cust-a" for g in rx.got)


# --- real HTTP ---------------------------------------------------------------------------


async def test_real_requests_are_signed_and_encoded(store: SqliteStore) -> None:
    got: list[dict[str, Any]] = []

    async def receive(request: web.Request) -> web.Response:
        got.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.rel_url.raw_query_string,
                "headers": dict(request.headers),
                "body": await request.read(),
            }
        )
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        base = f"http://127.0.0.1:{server.port}"
        await rows_of_every_kind(store, base, notify_query="?app=x%20y")
        # The real sender and the real clock; the local receiver is allowed explicitly.
        box = Outbox(store, settings(outbound_allow="127.0.0.1/32"))
        try:
            while await box.run_once():
                pass
        finally:
            await box.close()
    finally:
        await server.close()
    assert len(got) == 5  # 2 events x (webhook, notify) + 1 callback (digits)
    for req in got:
        payload = req["query"] if req["method"] == "GET" else req["body"]
        assert verifies(SECRET, req["headers"], payload)
        assert req["headers"]["X-Confsvc-Event-Id"]
    hooks = [r for r in got if r["path"] == "/hook"]
    assert [r["headers"]["X-Confsvc-Event"] for r in hooks] == [
        "conference_created",
        "conferencecall_digits",
    ]
    assert all(r["headers"]["Content-Type"] == "application/json" for r in hooks)
    notify = [r for r in got if r["path"] == "/notify"]
    assert all(r["method"] == "GET" and r["body"] == b"" for r in notify)
    assert parse_qs(notify[0]["query"])["type"] == ["conference_created"]
    assert parse_qs(notify[0]["query"])["app"] == ["x y"]  # the URL's own query is kept
    (cb,) = [r for r in got if r["path"] == "/cb"]
    assert cb["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(cb["body"].decode())["ConferenceDigitsMatch"] == ["9"]


async def test_the_running_loop_delivers_when_woken(store: SqliteStore) -> None:
    await subscribe(store)
    rx = Receiver()
    box = Outbox(store, settings(), sender=rx)
    await box.start()
    try:
        await fire(store, "conf-1", 3)
        for _ in range(200):
            if len(rx.got) == 3:
                break
            await asyncio.sleep(0.01)
        assert rx.seqs() == sorted(rx.seqs()) and len(rx.seqs()) == 3
    finally:
        await box.close()
