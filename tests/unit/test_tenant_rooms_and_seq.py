"""Issue 11, defect 8: one tenant cannot take another's live room (409 room_in_use, no race
between two creates), and event `seq` counts each tenant's events (another tenant's
activity does not show in it) with `since` replay still working. Migrations 6 and 7 keep
the data of an older database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse

from confsvc.domain import create_conference
from confsvc.domain.errors import RoomTaken
from confsvc.domain.ids import now
from confsvc.events.model import Event
from confsvc.store.sqlite import SqliteStore
from confsvc.store.sqlite_schema import _CONF_COLS, _conf_params
from tests.support.fake_ari import ApiHarness, api_harness
from tests.support.old_store import database_at


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    async with api_harness(tmp_path) as h:
        yield h


async def events(api: ApiHarness, token: str, **params: str) -> list[dict[str, Any]]:
    status, body = await api.request("GET", "/v1/events", token=token, params=params or None)
    assert status == 200, body
    return body["result"]  # type: ignore[no-any-return]


async def take(ws: ClientWebSocketResponse, n: int) -> list[dict[str, Any]]:
    out = []
    while len(out) < n:
        msg = await ws.receive_json(timeout=2)
        assert msg["type"] == "event", msg
        out.append(msg["event"])
    return out


# --- rooms --------------------------------------------------------------------------------


async def test_another_tenant_cannot_take_a_live_room(api: ApiHarness) -> None:
    mine = await api.create(room="board")
    status, body = await api.request(
        "POST", "/v1/conferences", token="tok-b", json={"type": "conference", "room": "board"}
    )
    assert (status, body["error"]) == (409, "room_in_use")
    assert "cust-a" not in body["message"]  # says nothing about whose it is
    assert len(api.ari.called("create_bridge")) == 1  # B's create never reached Asterisk
    # Callers of the room still reach A's conference (before: refused as ambiguous).
    call_id = await api.dial_in("board")
    status, call = await api.request("GET", f"/v1/conferencecalls/{call_id}")
    assert (call["conference_id"], call["status"]) == (mine["id"], "joined")
    status, listed = await api.request("GET", "/v1/conferences", token="tok-b")
    assert listed["result"] == []


async def test_two_tenants_racing_for_a_room_one_wins(api: ApiHarness) -> None:
    for round_ in range(5):
        room = f"race{round_}"
        results = await asyncio.gather(
            *(
                api.request(
                    "POST", "/v1/conferences", token=t, json={"type": "conference", "room": room}
                )
                for t in ("tok-a", "tok-b", "tok-a", "tok-b")
            )
        )
        statuses = sorted(status for status, _ in results)
        assert statuses == [201, 409, 409, 409], results
        assert {b["error"] for s, b in results if s == 409} == {"room_in_use"}
        assert len(await api.store.find_live_conference_by_room(room)) == 1


# --- seq ----------------------------------------------------------------------------------


async def test_seq_counts_each_tenants_events(api: ApiHarness) -> None:
    await api.create(token="tok-b", room="b1")
    for i in range(3):  # A is busy
        await api.create(room=f"a{i}")
    await api.create(token="tok-b", room="b2")
    a, b = await events(api, "tok-a"), await events(api, "tok-b")
    assert [e["seq"] for e in a] == list(range(1, len(a) + 1))
    # B's numbers do not move with A's activity: B sees only its own count.
    assert [e["seq"] for e in b] == [1, 2, 3, 4]
    assert {e["customer_id"] for e in b} == {"cust-b"}
    # since= by seq and by id, per tenant.
    assert [e["id"] for e in await events(api, "tok-b", since="2")] == [e["id"] for e in b[2:]]
    assert [e["id"] for e in await events(api, "tok-b", since=b[1]["id"])] == [
        e["id"] for e in b[2:]
    ]
    status, body = await api.request(
        "GET", "/v1/events", token="tok-b", params={"since": a[0]["id"]}
    )
    assert (status, body["error"]) == (422, "event_not_found")  # A's id is not B's


async def test_websocket_replay_uses_the_tenants_seq(api: ApiHarness) -> None:
    await api.create(token="tok-b", room="b1")  # B: seq 1, 2
    for i in range(3):
        await api.create(room=f"a{i}")  # A: seq 1..6 (store order 3..8)
    await api.create(token="tok-b", room="b2")  # B: seq 3, 4
    b = await events(api, "tok-b")
    ws = await api.client.ws_connect("/v1/ws", params={"token": "tok-b", "since": "2"})
    await ws.send_json({"type": "subscribe", "topics": ["conference:*"]})
    assert (await ws.receive_json(timeout=2))["type"] == "subscribed"
    assert [e["id"] for e in await take(ws, 2)] == [e["id"] for e in b[2:]]
    await api.create(room="a9")  # A's live events are not B's
    await api.create(token="tok-b", room="b3")  # B's live ones follow the replay, numbered on
    live = await take(ws, 2)
    assert [e["seq"] for e in live] == [5, 6] and {e["customer_id"] for e in live} == {"cust-b"}
    await ws.close()


# --- migrations 6 and 7 on an older database ----------------------------------------------


def v5_database(path: Path) -> dict[str, str]:
    """A database at schema 5 (before issue 11) holding what that allowed: two tenants with
    the same live room, and events numbered across tenants. Returns the conference ids."""
    db = database_at(path, 5)
    t = now()
    confs = {
        "a_shared": create_conference(customer_id="cust-a", now=t, room="shared"),
        "b_shared": create_conference(customer_id="cust-b", now=t, room="shared"),
        "a_alone": create_conference(customer_id="cust-a", now=t, room="alone"),
        "b_ended": create_conference(customer_id="cust-b", now=t, room="ended").terminate(t)[0],
    }
    # Only the columns schema 5 has (later migrations add more).
    have = {r[1] for r in db.execute("PRAGMA table_info(conferences)")}
    names = [n.strip() for n in _CONF_COLS.split(",")]
    keep = [i for i, n in enumerate(names) if n in have]
    insert = (
        f"INSERT INTO conferences ({', '.join(names[i] for i in keep)}) "
        f"VALUES ({', '.join('?' for _ in keep)})"
    )
    for c in confs.values():
        params = _conf_params(c)
        db.execute(insert, [params[i] for i in keep])
    # Store order: a b a a b -> per tenant: a 1 2 3, b 1 2.
    for n, customer in enumerate(["cust-a", "cust-b", "cust-a", "cust-a", "cust-b"], start=1):
        db.execute(
            "INSERT INTO events (id, customer_id, conference_id, type, resource_id, "
            "timestamp, data) VALUES (?, ?, 'c', 'conference_updated', 'c', "
            "'2024-05-01T12:00:00.000000Z', '{}')",
            (f"ev{n}", customer),
        )
    for event_seq in (4, 5):
        db.execute(
            "INSERT INTO deliveries (id, customer_id, kind, target, order_key, event_seq, "
            "event_id, event_type, url, method, content_type, body, status, attempts, "
            "next_at, tm_create) VALUES (?, 'x', 'webhook', 't', 'c', ?, ?, 'e', "
            "'https://example.com/', 'POST', 'application/json', '{}', 'delivered', 1, 0, "
            "'2024-05-01T12:00:00.000000Z')",
            (f"d{event_seq}", event_seq, f"ev{event_seq}"),
        )
    db.commit()
    db.close()
    return {name: c.id for name, c in confs.items()}


async def test_migrations_keep_the_data_and_number_events_per_tenant(tmp_path: Path) -> None:
    path = tmp_path / "v5.sqlite3"
    ids = v5_database(path)
    async with SqliteStore(path) as store:
        assert await store.schema_version() >= 7
        for conf_id in ids.values():  # every conference is still there, as it was
            assert await store.get_conference(conf_id) is not None
        shared = await store.find_live_conference_by_room("shared")
        assert {c.id for c in shared} == {ids["a_shared"], ids["b_shared"]}
        # Their room stays refused to everyone until both have ended; so is every live
        # room, across tenants. An ended conference's room is free.
        for customer, room in [("cust-c", "shared"), ("cust-a", "shared"), ("cust-b", "alone")]:
            with pytest.raises(RoomTaken):
                await store.create_conference(
                    create_conference(customer_id=customer, now=now(), room=room)
                )
        await store.create_conference(
            create_conference(customer_id="cust-a", now=now(), room="ended")
        )
        # Events: numbered per tenant in their old order, ids kept.
        a = await store.list_events("cust-a")
        b = await store.list_events("cust-b")
        assert [(e.id, e.seq) for e in a] == [("ev1", 1), ("ev3", 2), ("ev4", 3)]
        assert [(e.id, e.seq) for e in b] == [("ev2", 1), ("ev5", 2)]
        assert [e.store_seq for e in await store.events_after(0)] == [1, 2, 3, 4, 5]
        assert await store.event_seq("cust-b", "ev5") == 2
        rows = await store._fetch("SELECT event_id, event_seq FROM deliveries ORDER BY id", ())
        assert [tuple(r) for r in rows] == [("ev4", 3), ("ev5", 2)]
        # New events go on from each tenant's last number.
        for n, customer in enumerate(["cust-b", "cust-a", "cust-b"], start=6):
            event = Event(f"ev{n}", "conference_updated", customer, "c", "c", now(), {})
            await store.append_event(event)
        assert [e.seq for e in await store.list_events("cust-b", after=2)] == [3, 4]
        assert [e.seq for e in await store.list_events("cust-a", after=3)] == [4]
