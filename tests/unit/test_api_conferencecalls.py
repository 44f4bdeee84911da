"""/v1/conferencecalls over HTTP: participants come from fake ARI dial-in events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from confsvc.api import schemas
from tests.support.fake_ari import ApiHarness, api_harness


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    async with api_harness(tmp_path) as h:
        yield h


async def test_get_returns_the_participant(api: ApiHarness) -> None:
    conf = await api.create(room="r1")
    call_id = await api.dial_in("r1", name="Bob", number="2002")
    status, body = await api.request("GET", f"/v1/conferencecalls/{call_id}")
    assert status == 200
    schemas.Conferencecall.model_validate(body)
    assert body["id"] == call_id
    assert body["conference_id"] == conf["id"]
    assert body["customer_id"] == "cust-a"
    assert body["status"] == "joined"
    assert body["reference_type"] == "call"
    assert body["caller"] == {"number": "2002", "name": "Bob"}
    _, conf_now = await api.request("GET", f"/v1/conferences/{conf['id']}")
    assert conf_now["conferencecall_ids"] == [call_id]


async def test_kick_returns_leaving_then_becomes_leaved(api: ApiHarness) -> None:
    conf = await api.create(room="r1")
    call_id = await api.dial_in("r1")
    status, body = await api.request("DELETE", f"/v1/conferencecalls/{call_id}")
    assert status == 200
    schemas.Conferencecall.model_validate(body)
    assert body["status"] == "leaving"
    channel = body["reference_id"]
    assert any(args == (channel,) for args, _ in api.ari.called("hangup"))
    await api.engine.settle()
    _, after = await api.request("GET", f"/v1/conferencecalls/{call_id}")
    assert after["status"] == "leaved"
    _, conf_now = await api.request("GET", f"/v1/conferences/{conf['id']}")
    assert conf_now["conferencecall_ids"] == [] and conf_now["status"] == "progressing"


async def test_kick_twice_while_leaving_is_409(api: ApiHarness) -> None:
    api.ari.auto_leave = False  # the leave events never come: the call stays leaving
    await api.create(room="r1")
    call_id = await api.dial_in("r1")
    assert (await api.request("DELETE", f"/v1/conferencecalls/{call_id}"))[0] == 200
    status, body = await api.request("DELETE", f"/v1/conferencecalls/{call_id}")
    assert status == 409
    assert body["error"] == "conferencecall_invalid_state"
    assert "leaving" in body["message"]
    _, got = await api.request("GET", f"/v1/conferencecalls/{call_id}")
    assert got["status"] == "leaving"


async def test_kick_leaved_call_is_409(api: ApiHarness) -> None:
    await api.create(room="r1")
    call_id = await api.dial_in("r1")
    await api.request("DELETE", f"/v1/conferencecalls/{call_id}")
    await api.engine.settle()
    status, body = await api.request("DELETE", f"/v1/conferencecalls/{call_id}")
    assert status == 409 and body["error"] == "conferencecall_invalid_state"
    assert "leaved" in body["message"]


async def test_kick_in_connect_conference_ends_it(api: ApiHarness) -> None:
    conf = await api.create(type="connect", room="pair")
    a = await api.dial_in("pair", number="1")
    b = await api.dial_in("pair", number="2")
    assert (await api.request("DELETE", f"/v1/conferencecalls/{a}"))[0] == 200
    await api.engine.settle()
    _, conf_now = await api.request("GET", f"/v1/conferences/{conf['id']}")
    assert conf_now["status"] == "terminated"
    _, other = await api.request("GET", f"/v1/conferencecalls/{b}")
    assert other["status"] == "leaved"


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_unknown_call_is_404(api: ApiHarness, method: str) -> None:
    status, body = await api.request(method, "/v1/conferencecalls/nope")
    assert status == 404 and body["error"] == "conferencecall_not_found"


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_other_tenants_call_is_404(api: ApiHarness, method: str) -> None:
    await api.create(token="tok-b", room="theirs")
    call_id = await api.dial_in("theirs")
    status, body = await api.request(method, f"/v1/conferencecalls/{call_id}")
    assert status == 404 and body["error"] == "conferencecall_not_found"
    _, still = await api.request("GET", f"/v1/conferencecalls/{call_id}", token="tok-b")
    assert still["status"] == "joined"  # the DELETE did not kick it


async def test_list_filters_and_envelope(api: ApiHarness) -> None:
    c1 = await api.create(room="one")
    c2 = await api.create(room="two")
    a = await api.dial_in("one")
    b = await api.dial_in("one")
    c = await api.dial_in("two")
    await api.create(token="tok-b", room="other")
    await api.dial_in("other")  # another tenant's: never listed for tenant a

    status, body = await api.request("GET", "/v1/conferencecalls")
    assert status == 200
    schemas.ConferencecallList.model_validate(body)
    assert [x["id"] for x in body["result"]] == [c, b, a]
    assert body["next_page_token"] is None

    _, body = await api.request("GET", "/v1/conferencecalls", params={"conference_id": c1["id"]})
    assert [x["id"] for x in body["result"]] == [b, a]
    _, body = await api.request("GET", "/v1/conferencecalls", params={"conference_id": c2["id"]})
    assert [x["id"] for x in body["result"]] == [c]

    await api.request("DELETE", f"/v1/conferencecalls/{a}")
    await api.engine.settle()
    _, body = await api.request("GET", "/v1/conferencecalls", params={"status": "leaved"})
    assert [x["id"] for x in body["result"]] == [a]
    _, body = await api.request(
        "GET", "/v1/conferencecalls", params={"status": "joined", "conference_id": c1["id"]}
    )
    assert [x["id"] for x in body["result"]] == [b]


async def test_list_with_other_tenants_conference_id_is_empty(api: ApiHarness) -> None:
    theirs = await api.create(token="tok-b", room="other")
    await api.dial_in("other")
    status, body = await api.request(
        "GET", "/v1/conferencecalls", params={"conference_id": theirs["id"]}
    )
    assert status == 200 and body == {"result": [], "next_page_token": None}


async def test_list_pages_through_three_pages(api: ApiHarness) -> None:
    await api.create(room="big")
    ids = [await api.dial_in("big", number=str(i)) for i in range(5)]
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        params = {"page_size": "2"} | ({"page_token": token} if token else {})
        status, body = await api.request("GET", "/v1/conferencecalls", params=params)
        assert status == 200
        pages += 1
        seen += [x["id"] for x in body["result"]]
        token = body["next_page_token"]
        if token is None:
            break
    assert pages == 3
    assert seen == list(reversed(ids))


async def test_kick_with_query_token(api: ApiHarness) -> None:
    await api.create(room="r1")
    call_id = await api.dial_in("r1")
    status, body = await api.request(
        "DELETE", f"/v1/conferencecalls/{call_id}", token=None, params={"token": "tok-a"}
    )
    assert status == 200 and body["status"] == "leaving"
