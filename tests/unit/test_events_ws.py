"""GET /v1/ws and GET /v1/events over the real app (fake ARI): subscriptions, order,
replay without gaps or duplicates, tenants, protocol errors, slow clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType

from tests.support.fake_ari import ApiHarness, api_harness


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    async with api_harness(tmp_path) as h:
        yield h


async def connect(api: ApiHarness, token: str = "tok-a", **params: str) -> ClientWebSocketResponse:
    return await api.client.ws_connect("/v1/ws", params={"token": token, **params})


async def subscribe(ws: ClientWebSocketResponse, *topics: str, **extra: Any) -> dict[str, Any]:
    await ws.send_json({"type": "subscribe", "topics": list(topics), **extra})
    reply = await ws.receive_json(timeout=2)
    return reply  # type: ignore[no-any-return]


async def take(ws: ClientWebSocketResponse, n: int, timeout: float = 2) -> list[dict[str, Any]]:
    out = []
    while len(out) < n:
        msg = await ws.receive_json(timeout=timeout)
        assert msg["type"] == "event", msg
        out.append(msg["event"])
    return out


async def nothing_more(ws: ClientWebSocketResponse, wait: float = 0.3) -> None:
    with pytest.raises(asyncio.TimeoutError):
        msg = await ws.receive(timeout=wait)
        raise AssertionError(f"unexpected message: {msg}")


async def stored(api: ApiHarness, token: str = "tok-a", **params: str) -> list[dict[str, Any]]:
    status, body = await api.request("GET", "/v1/events", token=token, params=params or None)
    assert status == 200, body
    return body["result"]  # type: ignore[no-any-return]


async def test_subscribers_get_the_tenants_events_in_order(api: ApiHarness) -> None:
    ws = await connect(api)
    assert await subscribe(ws, "conference:*") == {
        "type": "subscribed",
        "topics": ["conference:*"],
    }
    conf = await api.create(room="live")
    call_id = await api.dial_in("live")
    await api.request("DELETE", f"/v1/conferencecalls/{call_id}")
    await api.engine.settle()
    expected = await stored(api)
    got = await take(ws, len(expected))
    assert got == expected
    assert [e["type"] for e in got if e["type"].startswith("conferencecall_")] == [
        "conferencecall_joining",
        "conferencecall_joined",
        "conferencecall_leaving",
        "conferencecall_leaved",
    ]
    assert got[0]["type"] == "conference_created" and got[0]["data"]["id"] == conf["id"]
    await nothing_more(ws)
    await ws.close()


async def test_a_conference_topic_gets_only_that_conference(api: ApiHarness) -> None:
    one = await api.create(room="one")
    await api.create(room="two")
    ws = await connect(api)
    await subscribe(ws, f"conference:{one['id']}")
    await api.dial_in("two")
    await api.dial_in("one")
    got = await take(ws, 3)  # updated (admitted), joining, joined
    assert {e["conference_id"] for e in got} == {one["id"]}
    await nothing_more(ws)
    await ws.send_json({"type": "unsubscribe", "topics": [f"conference:{one['id']}"]})
    assert (await ws.receive_json(timeout=2))["type"] == "unsubscribed"
    await api.dial_in("one")
    await nothing_more(ws)
    await ws.close()


async def test_since_replays_after_a_reconnect_without_gap_or_duplicate(api: ApiHarness) -> None:
    ws = await connect(api)
    await subscribe(ws, "conference:*")
    await api.create(room="replay")
    first = await take(ws, 2)  # created, progressing
    await ws.close()
    await api.dial_in("replay")  # while the client is away
    await api.dial_in("replay")
    ws = await connect(api, since=str(first[-1]["seq"]))
    await subscribe(ws, "conference:*")
    await api.dial_in("replay")  # live again
    everything = await stored(api)
    rest = await take(ws, len(everything) - len(first))
    ids = [e["id"] for e in first + rest]
    assert ids == [e["id"] for e in everything]  # no gap, no duplicate, in order
    await nothing_more(ws)
    await ws.close()
    # `since` may also be an event's public id, given in the subscribe message.
    ws = await connect(api)
    await subscribe(ws, "conference:*", since=everything[-3]["id"])
    assert [e["id"] for e in await take(ws, 2)] == [e["id"] for e in everything[-2:]]
    await nothing_more(ws)
    await ws.close()


async def test_events_endpoint_pages_with_next_since(api: ApiHarness) -> None:
    conf = await api.create(room="pages")
    await api.dial_in("pages")
    everything = await stored(api)
    status, body = await api.request("GET", "/v1/events", params={"page_size": "2"})
    assert status == 200 and [e["id"] for e in body["result"]] == [e["id"] for e in everything[:2]]
    assert body["next_since"] == everything[1]["seq"]
    rest = await stored(api, since=str(body["next_since"]), conference_id=conf["id"])
    assert [e["id"] for e in rest] == [e["id"] for e in everything[2:]]
    status, body = await api.request("GET", "/v1/events", params={"since": "no-such-event"})
    assert status == 422 and body["field"] == "since"
    status, body = await api.request("GET", "/v1/events", params={"page_size": "0"})
    assert status == 422 and body["field"] == "page_size"
    status, body = await api.request("GET", "/v1/events", params={"bogus": "1"})
    assert status == 400 and body["field"] == "bogus"


async def test_another_tenant_sees_nothing(api: ApiHarness) -> None:
    conf = await api.create(room="private")
    theirs = await connect(api, token="tok-b")
    await subscribe(theirs, "conference:*")
    reply = await subscribe(theirs, f"conference:{conf['id']}")
    assert reply["type"] == "error" and reply["error"] == "conference_not_found"
    await api.dial_in("private")
    await api.engine.bus.emit(
        "conferencecall_digits", "cust-a", {"id": "x", "conference_id": conf["id"]}
    )
    await nothing_more(theirs)
    await theirs.close()
    replay = await connect(api, token="tok-b", since="0")
    await subscribe(replay, "conference:*")
    await nothing_more(replay)
    await replay.close()
    assert await stored(api, token="tok-b") == []
    # A's event ids mean nothing to B.
    a_event = (await stored(api))[0]["id"]
    status, body = await api.request("GET", "/v1/events", token="tok-b", params={"since": a_event})
    assert status == 422 and body["error"] == "event_not_found"


async def test_protocol_errors_and_ping(api: ApiHarness) -> None:
    ws = await connect(api)
    await ws.send_str("not json")
    assert (await ws.receive_json(timeout=2))["error"] == "invalid_message"
    await ws.send_json(["a list"])
    assert (await ws.receive_json(timeout=2))["error"] == "invalid_message"
    await ws.send_json({"type": "dance"})
    assert (await ws.receive_json(timeout=2))["error"] == "invalid_message"
    assert (await subscribe(ws, "room:1"))["error"] == "invalid_topic"
    await ws.send_json({"type": "subscribe", "topics": []})
    assert (await ws.receive_json(timeout=2))["error"] == "invalid_message"
    assert (await subscribe(ws, "conference:*", since=True))["error"] == "invalid_field"
    await ws.send_json({"type": "ping"})
    assert await ws.receive_json(timeout=2) == {"type": "pong"}
    await ws.close()


async def test_upgrade_needs_a_token_and_a_valid_since(api: ApiHarness) -> None:
    status, body = await api.request("GET", "/v1/ws", token=None)
    assert status == 401 and body["error"] == "unauthorized"
    status, body = await api.request("GET", "/v1/ws", params={"since": "unknown-id"})
    assert status == 422 and body["field"] == "since"
    ws = await api.client.ws_connect("/v1/ws", headers={"Authorization": "Bearer tok-a"})
    assert (await subscribe(ws, "conference:*"))["type"] == "subscribed"
    await ws.close()


async def test_a_client_that_falls_behind_is_told_and_dropped(tmp_path: Path) -> None:
    async with api_harness(tmp_path, ws_queue_size=2) as api:
        conf = await api.create(room="burst")
        ws = await connect(api)
        await subscribe(ws, "conference:*")
        async with api.store.transaction() as tx:  # ten events in one commit: one burst
            for i in range(10):
                data = {"id": f"x{i}", "conference_id": conf["id"]}
                await api.engine.bus.journal.emit(tx, "conferencecall_digits", "cust-a", data)
        error = None
        for _ in range(12):
            msg = await ws.receive(timeout=2)
            if msg.type is WSMsgType.TEXT and msg.json()["type"] == "error":
                error = msg.json()
                break
        assert error is not None and error["error"] == "too_slow"
        closing = await ws.receive(timeout=2)
        assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        assert ws.close_code == 4008
        # The controller carries on; a new client works.
        again = await connect(api)
        await subscribe(again, "conference:*")
        await api.dial_in("burst")
        assert len(await take(again, 3)) == 3
        await again.close()
