"""Events end to end: a real Asterisk, real baresip phones, the controller as a process,
a real HTTP receiver (aiohttp on 127.0.0.1) for webhooks and callbacks, and real
WebSocket clients of /v1/ws.

Retry timing is shortened for the tests (backoff 0.2 s doubling up to 1 s) and the
"receiver down" window is ~10 s instead of 30 s: what is proved (every event arrives, in
order, after the receiver comes back) does not depend on the length of the outage."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.controller import Controller, running_controller
from tests.support.events import Receiver, WsClient, call_types
from tests.support.phone import Phone
from tests.support.room import create_room, phones, wait_joined
from tests.support.runtime import Runtime

SECRETS = {"tenant-a": "secret-a-e2e", "tenant-b": "secret-b-e2e"}
SETTINGS = {
    "CONFSVC_WEBHOOK_SECRETS": ",".join(f"{c}:{s}" for c, s in SECRETS.items()),
    "CONFSVC_WEBHOOK_BACKOFF_BASE": "0.2",
    "CONFSVC_WEBHOOK_BACKOFF_CAP": "1",
    "CONFSVC_WS_HEARTBEAT": "5",
}
LIFE = ["conferencecall_joining", "conferencecall_joined", "conferencecall_leaving",
        "conferencecall_leaved"]  # fmt: skip
DOWN_SECONDS = 10.0


# The event stream on both stores (issue 14): webhooks, WebSocket and /v1/events alike.
pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgres"])


@pytest.fixture
async def ctl(
    runtime: Runtime, tmp_path: Path, store_settings: dict[str, str]
) -> AsyncIterator[Controller]:
    async with running_controller(
        runtime, tmp_path / "controller", **SETTINGS, **store_settings
    ) as c:
        yield c


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        await r.stop()


async def subscribe(ctl: Controller, url: str, token: str = "tenant-a-token") -> dict[str, Any]:
    body = {"url": url}
    return await ctl.request("POST", "/v1/webhooks", json=body, token=token, expect=201)


async def stored_events(ctl: Controller, conference_id: str) -> list[dict[str, Any]]:
    body = await ctl.request("GET", f"/v1/events?conference_id={conference_id}&page_size=100")
    return body["result"]  # type: ignore[no-any-return]


async def join_and_leave(ctl: Controller, phone: Phone, conf: dict[str, Any]) -> None:
    await phone.dial(conf["room"])
    await phone.wait_event("CALL_ESTABLISHED")
    await wait_joined(ctl, conf["id"], 1)
    await asyncio.sleep(0.5)
    await phone.hangup()
    await phone.wait_event("CALL_CLOSED")
    await wait_all_leaved(ctl, conf["id"])


async def wait_all_leaved(ctl: Controller, conference_id: str) -> None:
    await ctl.wait_for(
        f"/v1/conferencecalls?conference_id={conference_id}",
        lambda b: b["result"] and all(c["status"] == "leaved" for c in b["result"]),
    )


def assert_in_order(events: list[dict[str, Any]]) -> None:
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs


async def test_join_and_leave_reach_webhook_callback_and_websocket_in_order(
    runtime: Runtime, ctl: Controller, receiver: Receiver
) -> None:
    await receiver.start()
    await subscribe(ctl, f"{receiver.url}/hook")
    ws = await WsClient(ctl.base, "tenant-a-token").open("conference:*")
    try:
        conf = await create_room(ctl, "evjoin", callback_url=f"{receiver.url}/cb")
        async with phones(runtime, [440.0], "evjoin") as ps:
            await join_and_leave(ctl, ps[0], conf)
        stored = await stored_events(ctl, conf["id"])
        await receiver.wait(lambda: len(receiver.events("/hook", conf["id"])) == len(stored))
        hooked = receiver.events("/hook", conf["id"])
        assert hooked == stored  # every event, once, in order, the full resource JSON
        assert hooked[0]["type"] == "conference_created"
        assert call_types(hooked) == LIFE
        assert_in_order(hooked)
        for req in receiver.requests("/hook"):
            assert req.signed_by(SECRETS["tenant-a"]), req.headers
            assert req.headers["X-Confsvc-Event-Id"] == req.event["id"]
            assert req.headers["X-Confsvc-Event"] == req.event["type"]
        left = next(e for e in hooked if e["type"] == "conferencecall_leaved")
        assert left["data"]["status"] == "leaved" and left["customer_id"] == "tenant-a"
        # The WebSocket client saw the same stream.
        await ws.wait_for_type("conferencecall_leaved", conf["id"])
        assert [e["id"] for e in ws.of(conf["id"])] == [e["id"] for e in stored]
        # Plivo-style callbacks: enter, then exit, form-encoded and signed.
        await receiver.wait(lambda: len(receiver.requests("/cb")) == 2)
        cbs = receiver.requests("/cb")
        assert [c.form["ConferenceAction"] for c in cbs] == ["enter", "exit"]
        call = left["data"]
        for cb in cbs:
            assert cb.signed_by(SECRETS["tenant-a"])
            assert cb.headers["Content-Type"] == "application/x-www-form-urlencoded"
            assert cb.form["ConferenceUUID"] == conf["id"]
            assert cb.form["ConferenceName"] == "evjoin"
            assert cb.form["ConferenceMemberID"] == call["id"]
            assert cb.form["CallUUID"] == call["reference_id"]
        log = await ctl.request("GET", f"/v1/webhooks/{(await hooks(ctl))[0]}/deliveries")
        assert {d["status"] for d in log["result"]} == {"delivered"}
    finally:
        await ws.close()


async def hooks(ctl: Controller) -> list[str]:
    return [h["id"] for h in (await ctl.request("GET", "/v1/webhooks"))["result"]]


async def test_a_receiver_down_during_the_call_gets_every_event_in_order_later(
    runtime: Runtime, ctl: Controller, receiver: Receiver
) -> None:
    hook = await subscribe(ctl, f"{receiver.url}/hook")  # nobody listens there yet
    conf = await create_room(ctl, "evdown")
    down_since = time.monotonic()
    async with phones(runtime, [440.0], "evdown") as ps:
        await join_and_leave(ctl, ps[0], conf)
    stored = await stored_events(ctl, conf["id"])
    assert call_types(stored) == LIFE
    # Attempts are written behind (in batches): wait for the first one to show.
    deadline = time.monotonic() + 5
    while True:
        log = await ctl.request("GET", f"/v1/webhooks/{hook['id']}/deliveries?page_size=100")
        tried = [d for d in log["result"] if d["attempts"] > 0]
        if tried or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert tried and all(d["status"] == "pending" for d in log["result"])
    assert all(d["last_error"] for d in tried)
    # Only the oldest event is retried: the later ones wait behind it.
    assert [d["event_seq"] for d in tried] == [stored[0]["seq"]]
    await asyncio.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - down_since)))
    await receiver.start()
    await receiver.wait(lambda: len(receiver.events("/hook", conf["id"])) >= len(stored))
    await asyncio.sleep(0.5)  # nothing else, no duplicate, arrives
    assert receiver.events("/hook", conf["id"]) == stored
    log = await ctl.request("GET", f"/v1/webhooks/{hook['id']}/deliveries?page_size=100")
    assert {d["status"] for d in log["result"]} == {"delivered"}
    assert max(d["attempts"] for d in log["result"]) > 1


async def test_undelivered_events_survive_a_kill9(
    runtime: Runtime, ctl: Controller, receiver: Receiver
) -> None:
    await subscribe(ctl, f"{receiver.url}/hook")  # receiver down
    conf = await create_room(ctl, "evkill")
    async with phones(runtime, [440.0], "evkill") as ps:
        await ps[0].dial("evkill")
        await ps[0].wait_event("CALL_ESTABLISHED")
        await wait_joined(ctl, conf["id"], 1)
        before = await stored_events(ctl, conf["id"])
        await ctl.kill9()
        await ctl.start()
        await ps[0].hangup()
        await ps[0].wait_event("CALL_CLOSED")
        await wait_all_leaved(ctl, conf["id"])
    stored = await stored_events(ctl, conf["id"])
    assert [e["id"] for e in stored[: len(before)]] == [e["id"] for e in before]
    assert call_types(stored) == LIFE
    await receiver.start()
    await receiver.wait(lambda: len(receiver.events("/hook", conf["id"])) >= len(stored))
    got = receiver.events("/hook", conf["id"])
    # At least once: a delivery in flight at the kill may come twice; the first copies
    # are every event, in order.
    firsts = list({e["id"]: e for e in reversed(got)}.values())[::-1]
    assert [e["id"] for e in firsts] == [e["id"] for e in stored]
    assert_in_order(firsts)
    for req in receiver.requests("/hook"):
        assert req.signed_by(SECRETS["tenant-a"])


async def test_websocket_since_replays_without_gap_or_duplicate(
    runtime: Runtime, ctl: Controller
) -> None:
    first = await WsClient(ctl.base, "tenant-a-token").open("conference:*")
    conf = await create_room(ctl, "evreplay")
    async with phones(runtime, [440.0], "evreplay") as ps:
        await ps[0].dial("evreplay")
        await ps[0].wait_event("CALL_ESTABLISHED")
        await wait_joined(ctl, conf["id"], 1)
        await first.wait_for_type("conferencecall_joined", conf["id"])
        await first.close()  # the client goes away...
        seen = list(first.events)
        await ps[0].hangup()  # ...and misses the leave
        await ps[0].wait_event("CALL_CLOSED")
        await wait_all_leaved(ctl, conf["id"])
    second = await WsClient(ctl.base, "tenant-a-token", since=seen[-1]["seq"]).open("conference:*")
    try:
        await second.wait_for_type("conferencecall_leaved", conf["id"])
        await asyncio.sleep(0.3)
        ids = [e["id"] for e in seen + second.events]
        stored = await ctl.request("GET", "/v1/events?page_size=100")
        assert ids == [e["id"] for e in stored["result"]]  # no gap, no duplicate
        assert len(set(ids)) == len(ids)
        assert call_types(second.events)[-2:] == ["conferencecall_leaving", "conferencecall_leaved"]
    finally:
        await second.close()


async def test_another_tenant_sees_nothing(
    runtime: Runtime, ctl: Controller, receiver: Receiver
) -> None:
    await receiver.start()
    await subscribe(ctl, f"{receiver.url}/b", token="tenant-b-token")
    theirs = await WsClient(ctl.base, "tenant-b-token", since=0).open("conference:*")
    mine = await WsClient(ctl.base, "tenant-a-token").open("conference:*")
    try:
        conf = await create_room(ctl, "evprivate", notify_url=f"{receiver.url}/a")
        async with phones(runtime, [440.0], "evprivate") as ps:
            await join_and_leave(ctl, ps[0], conf)
        await mine.wait_for_type("conferencecall_leaved", conf["id"])
        stored = await stored_events(ctl, conf["id"])
        await receiver.wait(lambda: len(receiver.events("/a", conf["id"])) == len(stored))
        await asyncio.sleep(0.5)
        assert theirs.events == [] and theirs.replies == []
        assert receiver.requests("/b") == []
        body = await ctl.request("GET", "/v1/events", token="tenant-b-token")
        assert body["result"] == []
        got = await ctl.request(
            "GET", f"/v1/events?since={stored[0]['id']}", token="tenant-b-token"
        )
        assert got["error"] == "event_not_found"
        # The notify_url of tenant A's conference is signed with A's secret, not B's.
        for req in receiver.requests("/a"):
            assert req.signed_by(SECRETS["tenant-a"]) and not req.signed_by(SECRETS["tenant-b"])
    finally:
        await theirs.close()
        await mine.close()
