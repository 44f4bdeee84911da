"""Issue 11, defects 7 and 9, over HTTP (real app, engine and store; fake ARI): content
types (JSON routes take application/json only, form routes decode strictly), names and
rooms, integral floats where the schema says integer, dest/destinations given as null,
and the OpenAPI document saying the same."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from confsvc.domain.room import is_valid_room
from tests.support.fake_ari import ApiHarness, api_harness

A = "+6511111111"
PLIVO = "/v1/Account/cust-a/Conference/"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    async with api_harness(tmp_path, dialout_allow="cust-a:+65") as h:
        yield h


async def send(
    api: ApiHarness,
    method: str,
    path: str,
    body: bytes = b"",
    content_type: str | None = None,
) -> tuple[int, Any]:
    """A raw request; content_type None sends no Content-Type header at all."""
    headers = {"Authorization": "Bearer tok-a"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with api.client.request(
        method, path, data=body, headers=headers, skip_auto_headers=("Content-Type",)
    ) as resp:
        assert resp.content_type == "application/json", await resp.text()
        return resp.status, await resp.json()


def assert_error(got: tuple[int, Any], status: int, code: str, field: str | None = None) -> None:
    assert got[0] == status, got
    assert got[1]["error"] == code and got[1]["message"], got
    assert got[1].get("field") == field, got


async def conferences(api: ApiHarness) -> list[dict[str, Any]]:
    status, body = await api.request("GET", "/v1/conferences")
    assert status == 200
    return body["result"]  # type: ignore[no-any-return]


# --- defect 7: form bodies that are not UTF-8 --------------------------------------------


@pytest.mark.parametrize("body", [b"url=\xff\xfe", b"url=%FF%FE", b"url=beep%3A1&\xc3("])
async def test_plivo_form_that_is_not_utf8_is_400(api: ApiHarness, body: bytes) -> None:
    await api.create(room="board")
    await api.dial_in("board")
    # Was a 500 (aiohttp's form reader raised UnicodeDecodeError).
    got = await send(api, "POST", PLIVO + "board/Member/all/Play/", body, FORM["Content-Type"])
    assert_error(got, 400, "bad_request")
    assert api.ari.called("play") == []


@pytest.mark.parametrize("path", ["/v1/calls", "/v1/conferences/{id}/calls"])
async def test_dialout_form_that_is_not_utf8_is_400(api: ApiHarness, path: str) -> None:
    conf = await api.create(room="board")
    body = b"dest=%2B6511111111&tag=\xff\xfe"
    got = await send(api, "POST", path.format(id=conf["id"]), body, FORM["Content-Type"])
    assert_error(got, 400, "error_malformed_params")
    assert api.ari.called("originate") == []


async def test_form_routes_refuse_other_content_types(api: ApiHarness) -> None:
    await api.create(room="board")
    for path in ("/v1/calls", PLIVO + "board/Member/all/Play/"):
        for content_type in ("text/plain", None, "application/json; charset=latin-1"):
            got = await send(api, "POST", path, b"url=beep%3A1", content_type)
            assert_error(got, 415, "unsupported_media_type")
    assert api.ari.called("originate") == [] and api.ari.called("play") == []


async def test_plivo_form_and_json_still_work(api: ApiHarness) -> None:
    await api.create(room="board")
    await api.dial_in("board")
    got = await send(
        api, "POST", PLIVO + "board/Member/all/Play/", b"url=beep%3A1", FORM["Content-Type"]
    )
    assert got[0] == 202, got
    got = await send(
        api,
        "POST",
        PLIVO + "board/Member/all/Play/",
        b'{"url": "beep:2"}',
        "application/json; charset=UTF-8",
    )
    assert got[0] == 202, got
    got = await send(api, "POST", PLIVO + "board/Member/all/Mute/")  # no body, no type
    assert got[0] == 202, got


# --- defect 9: JSON routes take application/json -----------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", None, FORM["Content-Type"], "application/json; charset=latin-1"],
)
async def test_json_routes_refuse_other_content_types(
    api: ApiHarness, content_type: str | None
) -> None:
    conf = await api.create(room="board")
    call = await api.dial_in("board")
    cases = [
        ("POST", "/v1/conferences", b'{"type": "conference"}'),
        ("PUT", f"/v1/conferences/{conf['id']}", b'{"name": "changed"}'),
        ("POST", f"/v1/conferences/{conf['id']}/recording_start", b"{}"),
        ("POST", f"/v1/conferencecalls/{call}/mute", b"{}"),
        ("POST", f"/v1/conferencecalls/{call}/play", b'{"media": "beep:1"}'),
        ("POST", "/v1/webhooks", b'{"url": "https://example.com/h"}'),
        ("POST", "/v1/webhook_secret", b"{}"),
    ]
    for method, path, body in cases:
        got = await send(api, method, path, body, content_type)
        assert_error(got, 415, "unsupported_media_type")
    # Nothing was changed by any of them.
    (only,) = await conferences(api)
    assert only["name"] == "" and only["recording_id"] is None
    _, got = await api.request("GET", f"/v1/conferencecalls/{call}")
    assert got["muted"] is False
    assert api.ari.called("play") == [] and api.ari.called("record_bridge") == []
    assert (await api.request("GET", "/v1/webhooks"))[1]["result"] == []


async def test_optional_bodies_may_be_left_out_without_a_content_type(api: ApiHarness) -> None:
    conf = await api.create(room="board")
    call = await api.dial_in("board")
    assert (await send(api, "POST", f"/v1/conferencecalls/{call}/mute"))[0] == 200
    assert (await send(api, "DELETE", f"/v1/conferencecalls/{call}/mute"))[0] == 200
    # An empty body is no body, whatever it is labelled.
    got = await send(
        api, "POST", f"/v1/conferences/{conf['id']}/recording_start", b"", "text/plain"
    )
    assert got[0] == 200 and got[1]["recording_id"], got
    assert (await send(api, "POST", f"/v1/conferences/{conf['id']}/recording_stop"))[0] == 200
    assert (await send(api, "POST", "/v1/webhook_secret"))[0] == 200
    # A route that needs a body still says so (400, not 415).
    assert_error(await send(api, "POST", "/v1/conferences"), 400, "bad_request")


# --- defect 9: names and rooms -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "\u0000"}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"name": "bell\u0007"}, "name"),
        ({"name": "c1\u0085"}, "name"),
        ({"detail": "nul\u0000"}, "detail"),
        ({"room": ".."}, "room"),
        ({"room": "."}, "room"),
        ({"room": "...."}, "room"),
    ],
)
async def test_control_characters_and_dot_rooms_are_refused(
    api: ApiHarness, fields: dict[str, str], field: str
) -> None:
    got = await api.request("POST", "/v1/conferences", json={"type": "conference", **fields})
    assert_error(got, 422, "invalid_field", field)
    assert await conferences(api) == [] and api.ari.called("create_bridge") == []


async def test_detail_keeps_tabs_and_line_breaks_and_update_is_checked(api: ApiHarness) -> None:
    conf = await api.create(room="a.b", detail="line 1\r\nline 2\tend")
    assert conf["detail"] == "line 1\r\nline 2\tend"
    got = await api.request("PUT", f"/v1/conferences/{conf['id']}", json={"name": "x\u001b[2J"})
    assert_error(got, 422, "invalid_field", "name")
    assert (await conferences(api))[0]["name"] == ""


async def test_dialout_room_of_dots_is_refused(api: ApiHarness) -> None:
    got = await api.request("POST", "/v1/calls", json={"dest": A, "room": ".."})
    assert_error(got, 422, "error_invalid_room", "room")
    assert await conferences(api) == []


# --- defect 9: integral floats are integers ------------------------------------------------


async def test_integral_floats_are_accepted_where_the_schema_says_integer(api: ApiHarness) -> None:
    conf = await api.create(timeout=60.0, max_participants=5.0, time_limit=30.0)
    assert (conf["timeout"], conf["max_participants"], conf["time_limit"]) == (60, 5, 30)
    assert all(type(conf[k]) is int for k in ("timeout", "max_participants", "time_limit"))
    status, body = await api.request(
        "POST", f"/v1/conferences/{conf['id']}/recording_start", json={"max_duration": 725.0}
    )
    assert status == 200, body
    status, rec = await api.request("GET", f"/v1/recordings/{body['recording_id']}")
    assert rec["max_duration"] == 725
    status, body = await api.request("PUT", f"/v1/conferences/{conf['id']}", json={"timeout": 90.0})
    assert (status, body["timeout"]) == (200, 90)
    status, body = await api.request("POST", "/v1/calls", json={"dest": A, "timeout": 30.0})
    assert status == 201, body
    status, call = await api.request("GET", f"/v1/calls/{body['txn_refs'][0]}")
    assert call["timeout"] == 30


@pytest.mark.parametrize("value", [725.5, True, "725", 1e300])
async def test_other_non_integers_are_still_refused(api: ApiHarness, value: object) -> None:
    conf = await api.create()
    got = await api.request(
        "POST", f"/v1/conferences/{conf['id']}/recording_start", json={"max_duration": value}
    )
    assert_error(got, 422, "invalid_field", "max_duration")


# --- defect 9: dest and destinations as null -----------------------------------------------


async def test_null_dest_and_destinations_is_missing_not_both(api: ApiHarness) -> None:
    got = await api.request("POST", "/v1/calls", json={"dest": None, "destinations": None})
    assert_error(got, 422, "error_dest_param_missing", "dest")
    status, body = await api.request("POST", "/v1/calls", json={"dest": None, "destinations": [A]})
    assert status == 201, body
    got = await api.request("POST", "/v1/calls", json={"dest": A, "destinations": [A]})
    assert_error(got, 400, "error_malformed_params", "destinations")


# --- the OpenAPI document says the same --------------------------------------------------


async def test_openapi_documents_415_room_rules_and_optional_bodies(api: ApiHarness) -> None:
    status, doc = await api.request("GET", "/v1/openapi.json", token=None)
    assert status == 200
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if "requestBody" in op:
                assert "415" in op["responses"], (method, path)
    create = doc["paths"]["/v1/conferences"]["post"]
    assert "room_in_use" in create["responses"]["409"]["description"]
    assert create["requestBody"]["required"] is True
    assert list(create["requestBody"]["content"]) == ["application/json"]
    start = doc["paths"]["/v1/conferences/{id}/recording_start"]["post"]
    assert start["requestBody"]["required"] is False
    calls = doc["paths"]["/v1/calls"]["post"]["requestBody"]["content"]
    assert set(calls) == {"application/json", "application/x-www-form-urlencoded"}
    assert "409" in doc["paths"]["/v1/calls"]["post"]["responses"]
    schemas = doc["components"]["schemas"]
    room = schemas["ConferenceCreate"]["properties"]["room"]
    pattern = re.compile(room["pattern"])  # beside anyOf [string, null]: for strings
    for sample in ["a", "..", ".", "a.b", "_", "._.", "x" * 32, "a-b", "ü"]:
        assert (pattern.search(sample) is not None) == is_valid_room(sample), sample
    name = re.compile(schemas["ConferenceCreate"]["properties"]["name"]["pattern"])
    assert name.search("ok name") and not name.search("\u0000") and not name.search("a\nb")
    start_props = schemas["RecordingStart"]["properties"]
    assert start_props["max_duration"]["type"] == "integer"
