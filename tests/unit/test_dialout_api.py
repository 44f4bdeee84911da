"""Dial-out over HTTP (real app, engine and store; fake ARI): the answers, the seed's error
codes (and that a refused request dials nobody), forms, tenant scoping, paging."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from confsvc.ari import parse_event
from tests.support.fake_ari import ApiHarness, api_harness

A, B, C = "+6511111111", "+6522222222", "+6533333333"
SETTINGS = {
    "dialout_allow": "cust-a:+65|+1,cust-b:+65",
    "dialout_tenant_max_calls": "cust-b:1",
    "caller_ids": "cust-a:+6560000000",
}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    async with api_harness(tmp_path, **SETTINGS) as harness:
        yield harness


async def settle(api: ApiHarness) -> None:
    for _ in range(50):
        await asyncio.gather(*list(api.engine.background), return_exceptions=True)
        await api.engine.settle()
        if not api.engine.background:
            return
    raise AssertionError("background work did not settle")


async def post(api: ApiHarness, path: str, body: Any, token: str = "tok-a") -> tuple[int, Any]:
    status, got = await api.request("POST", path, json=body, token=token)
    await settle(api)
    return status, got


def originated(api: ApiHarness) -> list[str]:
    return [k["channel_id"] for _, k in api.ari.called("originate")]


async def test_post_calls_into_a_conference(api: ApiHarness) -> None:
    conf = await api.create(room="board")
    status, body = await post(
        api,
        f"/v1/conferences/{conf['id']}/calls",
        {"destinations": [A, B], "caller_id": "+6560000000", "tag": "x", "timeout": 9},
    )
    assert status == 201, body
    assert set(body) == {"status", "txn_refs", "conference_id", "room"}
    assert (body["status"], body["conference_id"], body["room"]) == ("success_ok", conf["id"],
                                                                     "board")  # fmt: skip
    assert originated(api) == body["txn_refs"]  # in destination order
    status, got = await api.request("GET", f"/v1/calls/{body['txn_refs'][1]}")
    assert status == 200
    assert (got["dest"], got["status"], got["tag"], got["timeout"]) == (B, "dialing", "x", 9)
    assert got["txn_ref"] == got["id"] == body["txn_refs"][1]
    assert got["call_status_dest"] is None and got["conference_id"] == conf["id"]


async def test_post_v1_calls_creates_the_room_or_uses_the_tenants_live_one(
    api: ApiHarness,
) -> None:
    status, made = await post(api, "/v1/calls", {"dest": A, "room": "hoiio.1"})
    assert status == 201 and made["room"] == "hoiio.1"
    status, conf = await api.request("GET", f"/v1/conferences/{made['conference_id']}")
    assert (conf["room"], conf["max_participants"], conf["status"]) == ("hoiio.1", 8,
                                                                        "progressing")  # fmt: skip
    status, again = await post(api, "/v1/calls", {"dest": [B], "room": "hoiio.1"})
    assert status == 201 and again["conference_id"] == made["conference_id"]
    status, generated = await post(api, "/v1/calls", {"dest": [C]})
    assert status == 201 and generated["room"] and generated["room"] != "hoiio.1"
    # Another tenant's live room is not this tenant's, nor can it be taken.
    status, other = await post(api, "/v1/calls", {"dest": [A], "room": "hoiio.1"}, "tok-b")
    assert (status, other["error"]) == (409, "room_in_use")


async def test_a_form_body_as_the_seeds_clients_send(api: ApiHarness) -> None:
    conf = await api.create(room="board")
    form = "dest=%2B6511111111%2C%2B6522222222&tag=hello&timeout=5"
    status, body = await api.request(
        "POST",
        f"/v1/conferences/{conf['id']}/calls",
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    await settle(api)
    assert status == 201, body
    assert len(body["txn_refs"]) == 2
    status, got = await api.request("GET", f"/v1/calls/{body['txn_refs'][0]}")
    assert (got["dest"], got["tag"], got["timeout"]) == (A, "hello", 5)
    status, bad = await api.request(
        "POST",
        "/v1/calls",
        data="tag=hello",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (status, bad["error"]) == (422, "error_dest_param_missing")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (None, 422, "error_dest_param_missing", "dest"),
        ({}, 422, "error_dest_param_missing", "dest"),
        ({"dest": ["6511111111"]}, 422, "error_dest_invalid", "dest"),
        ({"dest": [f"+6511111{i:03}" for i in range(9)]}, 422, "error_dest_invalid", "dest"),
        ({"dest": [A], "room": "bad room"}, 422, "error_invalid_room", "room"),
        ({"dest": [A], "tag": "t" * 257}, 422, "error_tag_invalid_length", "tag"),
        ({"dest": [A], "notify_url": "nope"}, 422, "error_invalid_notify_url", "notify_url"),
        ({"dest": [A], "caller_id": "abc"}, 422, "error_invalid_caller_id", "caller_id"),
        ({"dest": [A], "timeout": 500}, 422, "error_invalid_timeout", "timeout"),
        ({"dest": [A], "bogus": 1}, 400, "error_malformed_params", "bogus"),
        ({"dest": ["+441234567890"]}, 403, "error_dest_not_supported", "dest"),
        ({"dest": [A, "+441234567890"]}, 403, "error_dest_not_supported", "dest"),
    ],
)
async def test_bad_requests_get_the_seeds_codes_and_dial_nobody(
    api: ApiHarness, body: Any, status: int, code: str, field: str
) -> None:
    conf = await api.create(room="board")
    for path in ("/v1/calls", f"/v1/conferences/{conf['id']}/calls"):
        got_status, got = await api.request("POST", path, json=body)
        await settle(api)
        assert (got_status, got["error"], got.get("field")) == (status, code, field), got
        assert got["message"]
    assert originated(api) == []
    _, listed = await api.request("GET", "/v1/calls")
    assert listed["result"] == []
    _, confs = await api.request("GET", "/v1/conferences")
    assert [c["room"] for c in confs["result"]] == ["board"]  # no room made either


async def test_malformed_json_is_error_malformed_params(api: ApiHarness) -> None:
    status, got = await api.request(
        "POST", "/v1/calls", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert (status, got["error"]) == (400, "error_malformed_params")
    status, got = await api.request("POST", "/v1/calls", json=[A])
    assert (status, got["error"]) == (400, "error_malformed_params")


async def test_conference_errors(api: ApiHarness) -> None:
    other = await api.create(token="tok-b", room="theirs")
    status, got = await post(api, f"/v1/conferences/{other['id']}/calls", {"dest": [A]})
    assert (status, got["error"]) == (404, "conference_not_found")
    conf = await api.create(room="board")
    status, got = await post(api, f"/v1/conferences/{conf['id']}/calls",
                             {"dest": [A], "room": "other"})  # fmt: skip
    assert (status, got["error"]) == (422, "error_invalid_room")
    await api.request("DELETE", f"/v1/conferences/{conf['id']}")
    status, got = await post(api, f"/v1/conferences/{conf['id']}/calls", {"dest": [A]})
    assert (status, got["error"]) == (409, "conference_invalid_state")
    assert originated(api) == []


async def test_concurrent_call_limit_and_room_size(api: ApiHarness) -> None:
    conf = await api.create(token="tok-b", room="b1", max_participants=3)
    status, _ = await post(api, f"/v1/conferences/{conf['id']}/calls", {"dest": [A]}, "tok-b")
    assert status == 201
    status, got = await post(api, f"/v1/conferences/{conf['id']}/calls", {"dest": [B]}, "tok-b")
    assert (status, got["error"]) == (409, "error_concurrent_call_limit_reached")
    small = await api.create(room="small", max_participants=2)
    status, got = await post(api, f"/v1/conferences/{small['id']}/calls", {"dest": [A, B, C]})
    assert (status, got["error"], got["field"]) == (409, "error_room_full", "room")
    assert len(originated(api)) == 1


async def test_calls_are_tenant_scoped_and_listed_with_paging(api: ApiHarness) -> None:
    conf = await api.create(room="board")
    _, first = await post(api, f"/v1/conferences/{conf['id']}/calls", {"dest": [A, B, C]})
    status, got = await api.request("GET", f"/v1/calls/{first['txn_refs'][0]}", token="tok-b")
    assert (status, got["error"]) == (404, "call_not_found")
    status, got = await api.request("GET", "/v1/calls/nope")
    assert (status, got["error"]) == (404, "call_not_found")
    _, listed = await api.request("GET", "/v1/calls", token="tok-b")
    assert listed["result"] == []
    seen: list[str] = []
    token = None
    while True:
        params = {"page_size": "2", **({"page_token": token} if token else {})}
        status, page = await api.request("GET", "/v1/calls", params=params)
        assert status == 200
        seen += [c["txn_ref"] for c in page["result"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == list(reversed(first["txn_refs"]))  # newest first
    _, by_conf = await api.request("GET", "/v1/calls", params={"conference_id": "other"})
    assert by_conf["result"] == []
    _, dialing = await api.request("GET", "/v1/calls", params={"status": "dialing"})
    assert len(dialing["result"]) == 3
    status, bad = await api.request("GET", "/v1/calls", params={"status": "nope"})
    assert (status, bad["error"]) == (400, "bad_request")


async def test_an_ended_call_shows_its_result(api: ApiHarness) -> None:
    conf = await api.create(room="board")
    _, placed = await post(api, f"/v1/conferences/{conf['id']}/calls", {"dest": [A]})
    txn = placed["txn_refs"][0]
    event = {"type": "ChannelDestroyed", "cause": 17, "cause_txt": "User busy",
             "channel": {"id": txn, "state": "Down"}}  # fmt: skip
    await api.engine.handle_event(parse_event(event))
    await settle(api)
    _, got = await api.request("GET", f"/v1/calls/{txn}")
    assert (got["status"], got["call_status_dest"], got["hangup_cause"]) == ("ended", "busy", 17)
    assert (got["duration"], got["duration_ms"]) == (0, 0) and got["tm_end"]
    _, events = await api.request("GET", "/v1/events", params={"conference_id": conf["id"]})
    assert [e["data"]["txn_ref"] for e in events["result"] if e["type"] == "call_ended"] == [txn]


async def test_openapi_documents_the_dial_out_routes(api: ApiHarness) -> None:
    status, doc = await api.request("GET", "/v1/openapi.json", token=None)
    assert status == 200
    assert {"post"} <= set(doc["paths"]["/v1/calls"]) and "get" in doc["paths"]["/v1/calls"]
    assert "post" in doc["paths"]["/v1/conferences/{id}/calls"]
    assert "403" in doc["paths"]["/v1/calls"]["post"]["responses"]
    assert "CallsCreate" in doc["components"]["schemas"]


async def test_member_options_for_the_callees(api: ApiHarness) -> None:
    """JSON object or (form) JSON text; stored and shown with each call; a bad one dials
    nobody."""
    conf = await api.create(room="board")
    path = f"/v1/conferences/{conf['id']}/calls"
    status, body = await post(api, path, {"dest": A, "member_options": {"muted": True}})
    assert status == 201, body
    status, got = await api.request("GET", f"/v1/calls/{body['txn_refs'][0]}", token="tok-a")
    assert status == 200 and got["member_options"]["muted"] is True, got
    before = len(originated(api))
    status, err = await post(api, path, {"dest": B, "member_options": {"muted": "loud"}})
    assert status == 422 and err["field"] == "member_options", err
    assert len(originated(api)) == before
