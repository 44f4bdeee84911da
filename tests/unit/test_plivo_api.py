"""The Plivo-shaped Conference API (seed 004) over HTTP with the fake ARI: shapes, member
lists (`all`, comma lists), tenant checks, every error path, and the asynchronous mode
(callback_url on loopback)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from confsvc.api import member_schemas as ms
from tests.support.fake_ari import ApiHarness, api_harness

ROOT = "/v1/Account/cust-a/Conference/"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    # The callback receivers are local: allowed explicitly, as make run and the e2e do.
    async with api_harness(tmp_path, outbound_allow="127.0.0.1/32") as h:
        yield h


async def raw(api: ApiHarness, method: str, path: str, **kw: Any) -> tuple[int, bytes]:
    headers = {"Authorization": "Bearer tok-a", **kw.pop("headers", {})}
    async with api.client.request(method, path, headers=headers, **kw) as resp:
        return resp.status, await resp.read()


async def room_with_two(api: ApiHarness) -> tuple[dict[str, Any], str, str]:
    conf = await api.create(room="board")
    a = await api.dial_in("board", name="Joe Doe", number="1456789903")
    b = await api.dial_in("board", name="Ann", number="2002")
    return conf, a, b


async def test_list_and_details(api: ApiHarness) -> None:
    conf, a, b = await room_with_two(api)
    await api.create(room="other")
    status, body = await api.request("GET", ROOT)
    assert status == 200
    ms.PlivoConferenceList.model_validate(body)
    assert sorted(body["conferences"]) == ["board", "other"] and body["api_id"]
    status, body = await api.request("GET", ROOT + "board/")
    assert status == 200
    ms.PlivoConference.model_validate(body)
    assert body["conference_name"] == "board" and body["conference_member_count"] == "2"
    assert body["conference_run_time"].isdigit()
    by_id = {m["member_id"]: m for m in body["members"]}
    assert set(by_id) == {a, b}
    call = (await api.request("GET", f"/v1/conferencecalls/{a}"))[1]
    assert by_id[a] == {
        "muted": False,
        "member_id": a,
        "deaf": False,
        "from": "1456789903",
        "to": "board",
        "caller_name": "Joe%20Doe",
        "direction": "inbound",
        "call_uuid": call["reference_id"],
        "join_time": by_id[a]["join_time"],
    }
    assert by_id[a]["join_time"].isdigit()
    assert conf["room"] == "board"


async def test_account_and_names_are_checked(api: ApiHarness) -> None:
    await room_with_two(api)
    for method, path in (
        ("GET", "/v1/Account/cust-b/Conference/"),
        ("DELETE", "/v1/Account/cust-b/Conference/board/"),
        ("POST", "/v1/Account/cust-b/Conference/board/Member/all/Mute/"),
    ):
        status, err = await api.request(method, path)
        assert status == 404 and err["error"] == "account_not_found", (path, err)
    status, err = await api.request("GET", "/v1/Account/cust-b/Conference/board/", token="tok-b")
    assert status == 404 and err["error"] == "conference_not_found"  # cust-b has no "board"
    status, err = await api.request("GET", ROOT + "nosuch/")
    assert status == 404 and err["error"] == "conference_not_found"
    status, err = await api.request("POST", ROOT + "board/Member/nope/Mute/")
    assert status == 404 and err["error"] == "conferencecall_not_found"
    status, err = await api.request("GET", ROOT, token=None)
    assert status == 401


async def test_member_actions_with_lists_and_all(api: ApiHarness) -> None:
    _, a, b = await room_with_two(api)
    status, body = await api.request("POST", ROOT + f"board/Member/{a},{b}/Mute/")
    assert status == 202 and body["message"] == "muted" and body["member_id"] == [a, b]
    ms.PlivoMemberResult.model_validate(body)
    for cid in (a, b):
        assert (await api.request("GET", f"/v1/conferencecalls/{cid}"))[1]["muted"] is True
    status, content = await raw(api, "DELETE", ROOT + f"board/Member/{b}/Mute/")
    assert (status, content) == (204, b"")
    assert (await api.request("GET", f"/v1/conferencecalls/{b}"))[1]["muted"] is False
    status, body = await api.request("POST", ROOT + "board/Member/all/Deaf/")
    assert status == 202 and sorted(body["member_id"]) == sorted([a, b])
    assert (await raw(api, "DELETE", ROOT + "board/Member/all/Deaf/"))[0] == 204
    status, body = await api.request(
        "POST", ROOT + f"board/Member/{a}/Play/", json={"url": "https://x.org/hi.wav"}
    )
    assert status == 202 and body["message"] == "play queued into conference"
    assert api.ari.called("play_on_channel")[-1][0][1][0].startswith("sound:https://x.org/hi.wav")
    assert (await raw(api, "DELETE", ROOT + f"board/Member/{a}/Play/"))[0] == 204
    status, body = await api.request("POST", ROOT + f"board/Member/{a}/Kick/")
    assert status == 202 and body["message"] == "kicked"
    await api.engine.settle()
    assert (await api.request("GET", f"/v1/conferencecalls/{a}"))[1]["status"] == "leaved"
    assert (await raw(api, "DELETE", ROOT + f"board/Member/{b}/"))[0] == 204
    await api.engine.settle()
    assert (await api.request("GET", f"/v1/conferencecalls/{b}"))[1]["status"] == "leaved"
    status, err = await api.request("POST", ROOT + f"board/Member/{a}/Mute/")
    assert status == 404 and err["error"] == "conferencecall_not_found"  # not a member now


async def test_play_body_rules_and_form_bodies(api: ApiHarness) -> None:
    _, a, _ = await room_with_two(api)
    path = ROOT + f"board/Member/{a}/Play/"
    for body, field in (({}, "url"), ({"url": "beep:7"}, "url"), ({"url": "x", "y": 1}, "y")):
        status, err = await api.request("POST", path, json=body)
        assert status == 422 and err["field"] == field, err
    status, content = await raw(
        api,
        "POST",
        path,
        data="url=beep%3A1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 202, content
    assert api.ari.called("play_on_channel")[-1][0][1] == ["sound:beep"]


async def test_hangup_one_and_all(api: ApiHarness) -> None:
    conf, _, _ = await room_with_two(api)
    other = await api.create(room="other")
    assert (await raw(api, "DELETE", ROOT + "board/"))[0] == 204
    await api.engine.settle()
    assert (await api.request("GET", f"/v1/conferences/{conf['id']}"))[1]["status"] == "terminated"
    assert (await raw(api, "DELETE", ROOT))[0] == 204
    assert (await api.request("GET", f"/v1/conferences/{other['id']}"))[1]["status"] == (
        "terminated"
    )
    assert (await api.request("GET", ROOT))[1]["conferences"] == []
    assert (await raw(api, "DELETE", ROOT))[0] == 204  # nothing left: still fine


async def test_async_mode_posts_the_result(api: ApiHarness) -> None:
    _, a, _ = await room_with_two(api)
    got: asyncio.Queue[tuple[str, dict[str, str]]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        fields = dict(await request.post()) if request.method == "POST" else dict(request.query)
        await got.put((request.method, {k: str(v) for k, v in fields.items()}))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/cb", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        cb = str(server.make_url("/cb"))
        status, body = await api.request(
            "POST", ROOT + f"board/Member/{a}/Mute/", params={"callback_url": cb}
        )
        assert status == 202 and body["message"] == "async api spawned"
        method, fields = await asyncio.wait_for(got.get(), 5)
        assert method == "POST" and fields["api_id"] == body["api_id"]
        assert fields["status"] == "202"
        assert json.loads(fields["response"])["member_id"] == [a]
        # GET callback, body form of the parameters, and a failing call
        status, body = await api.request(
            "GET", ROOT + "nosuch/", params={"callback_url": cb, "callback_method": "GET"}
        )
        assert status == 202
        method, fields = await asyncio.wait_for(got.get(), 5)
        assert method == "GET" and fields["status"] == "404"
        assert json.loads(fields["response"])["error"] == "conference_not_found"
        status, _ = await api.request(
            "POST", ROOT + "board/Member/all/Deaf/", json={"callback_url": cb}
        )
        assert status == 202
        assert (
            json.loads((await asyncio.wait_for(got.get(), 5))[1]["response"])["message"] == "deaf"
        )
    finally:
        await server.close()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"callback_url": "ftp://x/cb"}, "callback_url"),
        ({"callback_url": "http://127.0.0.1/cb", "callback_method": "PUT"}, "callback_method"),
    ],
)
async def test_async_parameters_are_checked(
    api: ApiHarness, params: dict[str, str], field: str
) -> None:
    status, err = await api.request("GET", ROOT, params=params)
    assert status == 422 and err["field"] == field, err
    status, err = await api.request("GET", ROOT, params={"other": "1"})
    assert status == 400


async def test_a_bad_callback_method_in_the_query_is_refused_whatever_the_body_says(
    api: ApiHarness,
) -> None:
    """Found by schemathesis: the body's valid callback_method hid the query's bad one."""
    await api.create(room="cbm")
    status, body = await api.request(
        "DELETE",
        ROOT + "cbm/Member/all/Play/",
        params={"callback_url": "http://127.0.0.1:9/x", "callback_method": "PUT"},
        data="callback_method=POST&callback_url=http%3A%2F%2F127.0.0.1%3A9%2Fx",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 422 and body["field"] == "callback_method", body
