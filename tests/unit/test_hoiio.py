"""Hoiio clients (issue 19): applications and their credentials, the rate limit, the
Record block's parameters and markup, its notification, and the API's Hoiio answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from confsvc.domain.dialout_rules import DialoutError, check_caller_id
from confsvc.domain.record_block import (
    Audio,
    RecordBlockError,
    RecordBlockResult,
    Speak,
    parse_msg,
    parse_request,
    validate_max_duration,
)
from confsvc.hoiio_apps import (
    BadAccessToken,
    BadAppId,
    RateLimiter,
    authenticate,
    new_app,
    parse_apps,
    parse_caller_ids,
)
from tests.support.fake_ari import ApiHarness, api_harness


def test_apps_parse_and_authenticate_with_the_seeds_two_refusals() -> None:
    apps = parse_apps("app-a:tok-a:cust-a, app-b:tok-b:cust-b")
    assert authenticate(apps, "app-a", "tok-a").customer_id == "cust-a"
    with pytest.raises(BadAppId):
        authenticate(apps, "app-x", "tok-a")
    with pytest.raises(BadAccessToken):
        authenticate(apps, "app-a", "tok-b")
    for bad in ("app-a:tok", "a:tok:c", "app-a:t:c,app-a:t:c"):
        with pytest.raises(ValueError):
            parse_apps(bad)
    one, two = new_app("dev"), new_app("dev")
    assert one.app_id != two.app_id and one.access_token != two.access_token
    assert parse_apps(f"{one.app_id}:{one.access_token}:dev")[one.app_id] == one


def test_caller_ids_are_the_tenants_own_numbers_or_private() -> None:
    owned = parse_caller_ids("cust-a:+6560000000|+6560000001,cust-b:+4420")
    assert owned["cust-a"] == {"+6560000000", "+6560000001"}
    for ok in ("", "private", "+6560000001"):
        check_caller_id("cust-a", ok, owned["cust-a"])
    with pytest.raises(DialoutError) as info:
        check_caller_id("cust-a", "+4420", owned["cust-a"])
    assert (info.value.code, info.value.http_status) == ("error_invalid_caller_id", 403)


def test_rate_limiter_is_per_tenant_and_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.allow("a") and limiter.allow("a") and not limiter.allow("a")
    assert limiter.allow("b")  # another tenant's bucket
    now[0] += 30.0  # a minute's rate of 2 refills one in 30 s
    assert limiter.allow("a") and not limiter.allow("a")
    assert RateLimiter(0).allow("a")  # 0: no limit


def test_msg_plain_text_and_markup() -> None:
    assert parse_msg("Hello & welcome") == (Speak("Hello & welcome"),)
    assert parse_msg(None) == () and parse_msg("") == ()
    parts = parse_msg(
        'Hi <speech language="zh-HK" gender="male">請稍等</speech>'
        "<url>https://example.com/a.mp3</url> bye"
    )
    assert parts == (
        Speak("Hi"),
        Speak("請稍等", "zh-HK", "MAN"),
        Audio("https://example.com/a.mp3"),
        Speak("bye"),
    )


@pytest.mark.parametrize(
    ("msg", "code"),
    [
        ("x" * 1001, "error_msg_invalid_length"),
        ("<speech>unclosed", "error_msg_invalid_xml"),
        ("<b>bold</b>", "error_msg_invalid_xml"),
        ('<speech gender="robot">hi</speech>', "error_msg_invalid_gender"),
        ('<speech language="not a language">hi</speech>', "error_msg_invalid_language"),
        ("<url>ftp://example.com/a.mp3</url>", "error_msg_invalid_url"),
        ("<url>https://example.com/a.ogg</url>", "error_msg_invalid_file_format"),
    ],
)
def test_bad_msg_gets_the_seeds_code(msg: str, code: str) -> None:
    with pytest.raises(RecordBlockError) as info:
        parse_msg(msg)
    assert info.value.code == code


def test_max_duration_tag_and_notify_url_rules() -> None:
    assert validate_max_duration(None) == 120 and validate_max_duration("") == 120
    assert validate_max_duration("86400") == 86400 and validate_max_duration(1) == 1
    for bad in (0, 86401, "abc", "1.5", True):
        with pytest.raises(RecordBlockError) as info:
            validate_max_duration(bad)
        assert info.value.code == "error_invalid_max_duration"
    long_url = "https://example.com/" + "a" * 3970
    assert parse_request({"notify_url": long_url}).notify_url == long_url  # up to 4000
    cases: list[tuple[dict[str, Any], str]] = [
        ({"notify_url": long_url + "a" * 20}, "error_invalid_notify_url"),
        ({"notify_url": "mailto:a@b"}, "error_invalid_notify_url"),
        ({"tag": "x" * 257}, "error_tag_invalid_length"),
        ({"colour": "red"}, "error_malformed_params"),
    ]
    for body, code in cases:
        with pytest.raises(DialoutError) as err:
            parse_request(body)
        assert err.value.code == code


def test_notification_carries_the_seeds_fields() -> None:
    start = datetime(2026, 1, 1, 1, 0, 0, tzinfo=UTC)
    end = datetime(2026, 1, 1, 1, 1, 30, tzinfo=UTC)
    ongoing = RecordBlockResult(
        "cc-1",
        "rec-1",
        "t",
        False,
        "http://h/v1/recordings/r/file",
        dest="+6511111111",
        call_start=start,
    )
    assert ongoing.notify_params() == {
        "ivr_block": "record",
        "session": "cc-1",
        "txn_ref": "rec-1",
        "call_state": "ongoing",
        "record_status": "success",
        "dest": "+6511111111",
        "tag": "t",
        "record_url": "http://h/v1/recordings/r/file",
    }
    ended = RecordBlockResult(
        "cc-1",
        "rec-1",
        None,
        True,
        None,
        from_number="alice",
        to="room1",
        call_start=start,
        call_end=end,
    ).notify_params()
    assert ended["record_status"] == "failed" and "record_url" not in ended
    assert (ended["from"], ended["to"], ended["call_state"]) == ("alice", "room1", "ended")
    assert ended["date"] == "2026-01-01 09:01:30" and ended["duration"] == "2"  # GMT+8
    assert "tag" not in ended and "dest" not in ended


# --- the API -------------------------------------------------------------------------


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    async with api_harness(
        tmp_path,
        dialout_allow="cust-a:+65",
        hoiio_apps="app-a:secret-a:cust-a",
        hoiio_rate_limit=5,
    ) as h:
        yield h


async def post_form(api: ApiHarness, path: str, fields: dict[str, str]) -> tuple[int, Any]:
    async with api.client.post(path, data=fields) as resp:
        return resp.status, await resp.json()


async def test_app_id_and_access_token_authenticate_with_the_seeds_codes(
    api: ApiHarness,
) -> None:
    dest = {"dest": "+6511111111"}
    cases = [
        ({**dest, "app_id": "app-a", "access_token": "nope"}, 401, "error_invalid_access_token"),
        ({**dest, "app_id": "app-x", "access_token": "secret-a"}, 401, "error_invalid_app_id"),
        ({**dest, "app_id": "app-a"}, 401, "error_access_token_param_missing"),
        (
            {**dest, "app_id": "app-a", "access_token": "secret-a", "caller_id": "+6599"},
            422,
            "error_invalid_caller_id",
        ),
    ]
    for path in ("/v1/calls", "/open/conference/call"):
        for fields, status, code in cases:
            got = await post_form(api, path, fields)
            assert got[0] == status and got[1]["status"] == got[1]["error"] == code, got
    await api.engine.settle()
    assert api.ari.called("originate") == []  # nothing dialled on any error
    fields = {**dest, "app_id": "app-a", "access_token": "secret-a", "room": "r1"}
    status, body = await post_form(api, "/open/conference/call", fields)
    assert status == 200 and body["status"] == "success_ok" and body["room"] == "r1", body
    async with api.client.get(
        "/open/conference/call", params={**fields, "dest": "+6522222222"}
    ) as resp:  # GET with the query, as the seed allows
        assert resp.status == 200, await resp.text()
    async with api.client.delete("/open/conference/call") as resp:
        assert resp.status == 405
        assert (await resp.json())["status"] == "error_invalid_http_method"
    # The bearer token still works on the same routes.
    headers = {"Authorization": "Bearer tok-a"}
    async with api.client.get("/v1/calls", headers=headers) as resp:
        assert resp.status == 200


async def test_rate_limit_is_per_tenant(api: ApiHarness) -> None:
    fields = {"app_id": "app-a", "access_token": "secret-a", "session": "nope"}
    codes = [(await post_form(api, "/open/ivr/middle/record", fields))[1] for _ in range(6)]
    assert [c["status"] for c in codes] == ["error_invalid_session"] * 5 + [
        "error_rate_limit_exceeded"
    ]
    async with api.client.get("/v1/conferences", headers={"Authorization": "Bearer tok-a"}) as r:
        assert r.status == 200  # other routes are not limited


async def test_notify_url_is_resolved_at_request_time(api: ApiHarness) -> None:
    creds = {"app_id": "app-a", "access_token": "secret-a"}
    for path, fields in (
        ("/open/conference/call", {"dest": "+6511111111"}),
        ("/open/ivr/middle/record", {"session": "nope"}),
    ):
        body = {**creds, **fields, "notify_url": "https://unresolvable.test/n"}
        status, got = await post_form(api, path, body)
        assert (status, got["status"]) == (422, "error_unable_to_resolve_notify_url"), got
        body["notify_url"] = "https://db.internal/n"  # resolves, but to a private address
        status, got = await post_form(api, path, body)
        assert (status, got["status"]) == (422, "url_not_allowed"), got
    await api.engine.settle()
    assert api.ari.called("originate") == []


async def test_record_block_refusals(api: ApiHarness) -> None:
    creds = {"app_id": "app-a", "access_token": "secret-a"}
    cases = [
        ({}, 422, "error_session_param_missing"),
        ({"session": "nope"}, 404, "error_invalid_session"),
        ({"session": "nope", "max_duration": "0"}, 422, "error_invalid_max_duration"),
        ({"session": "nope", "msg": "<speech>x"}, 422, "error_msg_invalid_xml"),
        (
            {"session": "nope", "msg": "<url>https://a.example/x.mp3</url>"},
            404,
            "error_invalid_session",
        ),
    ]
    for fields, status, code in cases:
        got = await post_form(api, "/open/ivr/middle/record", {**creds, **fields})
        assert (got[0], got[1]["status"]) == (status, code), (fields, got)
