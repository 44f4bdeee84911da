"""Error mapping of the HTTP API: every client mistake gets its stable code and status (never
a 500), the JSON error shape, auth, and the OpenAPI document."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from confsvc.api import errors as api_errors
from tests.support.fake_ari import ApiHarness, api_harness

JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    async with api_harness(tmp_path) as h:
        yield h


def assert_error(body: Any, code: str, field: str | None = None) -> None:
    assert isinstance(body, dict)
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    if field is None:
        assert set(body) == {"error", "message"}, body
    else:
        assert set(body) == {"error", "message", "field"} and body["field"] == field, body


async def assert_nothing_created(api: ApiHarness) -> None:
    status, body = await api.request("GET", "/v1/conferences")
    assert status == 200 and body["result"] == []
    assert api.ari.called("create_bridge") == []


# --- 400 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"type": "conference",}',
        b"",
        b"   ",
        b"[]",
        b'"conference"',
        b"42",
        b"null",
        b'{"type": "conference", "timeout": NaN}',
        b'{"type": "conference", "timeout": Infinity}',
        b'{"type": "conference", "name": "\xff\xfe"}',
        b'{"type": "conference", "name": "a\\ud800b"}',  # lone surrogate
        b'{"type": "conference", "timeout": ' + b"9" * 5000 + b"}",
        b'{"type": "conference", "data": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
        b'{"type": "conference", "data": {"x": ' + b"[" * 900 + b"]" * 900 + b"}}",
        b'{"type": "conference", "data": {"x": ' + b"[" * 31 + b"]" * 31 + b"}}",  # 33 deep
    ],
)
async def test_malformed_post_body_is_400(api: ApiHarness, raw: bytes) -> None:
    status, body = await api.request("POST", "/v1/conferences", data=raw, headers=JSON)
    assert status == 400
    assert_error(body, "bad_request")
    await assert_nothing_created(api)


async def test_body_nested_32_levels_is_accepted(api: ApiHarness) -> None:
    raw = b'{"type": "conference", "data": {"x": ' + b"[" * 30 + b"]" * 30 + b"}}"
    status, body = await api.request("POST", "/v1/conferences", data=raw, headers=JSON)
    assert status == 201, body


@pytest.mark.parametrize("raw", [b"{", b"[1]", b""])
async def test_malformed_put_body_is_400(api: ApiHarness, raw: bytes) -> None:
    conf = await api.create(name="same")
    status, body = await api.request("PUT", f"/v1/conferences/{conf['id']}", data=raw, headers=JSON)
    assert status == 400
    assert_error(body, "bad_request")


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/conferences", {"page_size": "abc"}, "page_size"),
        ("/v1/conferences", {"page_size": "1.5"}, "page_size"),
        ("/v1/conferences", {"page_size": ""}, "page_size"),
        ("/v1/conferences", {"status": "bogus"}, "status"),
        ("/v1/conferences", {"page_sise": "10"}, "page_sise"),
        ("/v1/conferencecalls", {"page_size": "abc"}, "page_size"),
        ("/v1/conferencecalls", {"status": "gone"}, "status"),
        ("/v1/conferencecalls", {"conference": "x"}, "conference"),
        ("/v1/conferences/some-id", {"verbose": "1"}, "verbose"),
    ],
)
async def test_bad_query_parameter_is_400(
    api: ApiHarness, path: str, params: dict[str, str], field: str
) -> None:
    status, body = await api.request("GET", path, params=params)
    assert status == 400
    assert_error(body, "bad_request", field)


async def test_repeated_query_parameter_is_400(api: ApiHarness) -> None:
    status, body = await api.request("GET", "/v1/conferences?page_size=1&page_size=2")
    assert status == 400
    assert_error(body, "bad_request", "page_size")


async def test_too_large_body_is_413(api: ApiHarness) -> None:
    raw = json.dumps({"type": "conference", "detail": "x" * 300_000}).encode()
    status, body = await api.request("POST", "/v1/conferences", data=raw)
    assert status == 413
    assert_error(body, "payload_too_large")


# --- 401 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dG9rLWE6"},
        {"Authorization": "tok-a"},
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/conferences"),
        ("POST", "/v1/conferences"),
        ("GET", "/v1/conferences/x"),
        ("PUT", "/v1/conferences/x"),
        ("DELETE", "/v1/conferences/x"),
        ("GET", "/v1/conferencecalls"),
        ("GET", "/v1/conferencecalls/x"),
        ("DELETE", "/v1/conferencecalls/x"),
    ],
)
async def test_missing_or_invalid_token_is_401(
    api: ApiHarness, method: str, path: str, headers: dict[str, str]
) -> None:
    async with api.client.request(method, path, headers=headers, json={"type": "x"}) as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == "Bearer"
        assert_error(await resp.json(), "unauthorized")


async def test_invalid_query_token_is_401(api: ApiHarness) -> None:
    status, body = await api.request("GET", "/v1/conferences", token=None, params={"token": "x"})
    assert status == 401
    assert_error(body, "unauthorized")


async def test_header_wins_over_query_token(api: ApiHarness) -> None:
    status, _ = await api.request(
        "GET", "/v1/conferences", token="wrong", params={"token": "tok-a"}
    )
    assert status == 401


async def test_bearer_scheme_is_case_insensitive(api: ApiHarness) -> None:
    status, _ = await api.request(
        "GET", "/v1/conferences", token=None, headers={"Authorization": "bearer tok-a"}
    )
    assert status == 200


# --- 404 / 405 -------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["tok-a", None])
@pytest.mark.parametrize(
    "path", ["/", "/v1", "/v1/nothing", "/v2/conferences", "/v1/conferences/a/b"]
)
async def test_unknown_route_is_404_not_found(
    api: ApiHarness, path: str, token: str | None
) -> None:
    status, body = await api.request("GET", path, token=token)
    assert status == 404
    assert_error(body, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/v1/conferences"),
        ("DELETE", "/v1/conferences"),
        ("POST", "/v1/conferences/x"),
        ("PATCH", "/v1/conferences/x"),
        ("POST", "/v1/conferencecalls"),
        ("PUT", "/v1/conferencecalls/x"),
        ("POST", "/health"),
        ("DELETE", "/v1/openapi.json"),
    ],
)
async def test_wrong_method_is_405(api: ApiHarness, method: str, path: str) -> None:
    async with api.client.request(method, path, headers={"Authorization": "Bearer tok-a"}) as resp:
        assert resp.status == 405
        assert resp.headers["Allow"]
        assert_error(await resp.json(), "method_not_allowed")


# --- 422 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": None}, "type"),
        ({"type": "bogus"}, "type"),
        ({"type": 1}, "type"),
        ({"room": "r" * 33}, "room"),
        ({"room": ""}, "room"),
        ({"room": "has space"}, "room"),
        ({"room": "dash-ed"}, "room"),
        ({"room": "at@host"}, "room"),
        ({"room": "ünicode"}, "room"),
        ({"room": 123}, "room"),
        ({"max_participants": 0}, "max_participants"),
        ({"max_participants": 21}, "max_participants"),
        ({"max_participants": -1}, "max_participants"),
        ({"max_participants": "5"}, "max_participants"),
        ({"type": "connect", "max_participants": 3}, "max_participants"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": 86401}, "timeout"),
        ({"timeout": 10**30}, "timeout"),
        ({"timeout": "60"}, "timeout"),
        ({"timeout": 1.5}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"timeout": None}, "timeout"),
        ({"name": 5}, "name"),
        ({"name": None}, "name"),
        ({"name": "n" * 256}, "name"),
        ({"detail": "d" * 2001}, "detail"),
        ({"detail": ["x"]}, "detail"),
        ({"data": []}, "data"),
        ({"data": "x"}, "data"),
        ({"data": None}, "data"),
        ({"data": {"big": "x" * 20_000}}, "data"),
        ({"bogus": 1}, "bogus"),
        ({"status": "terminated"}, "status"),
        ({"customer_id": "cust-b"}, "customer_id"),
        ({"id": "mine"}, "id"),
    ],
)
async def test_invalid_create_field_is_422(
    api: ApiHarness, fields: dict[str, Any], field: str
) -> None:
    status, body = await api.request(
        "POST", "/v1/conferences", json={"type": "conference", **fields}
    )
    assert status == 422, body
    assert_error(body, "invalid_field", field)
    assert field in body["message"]
    await assert_nothing_created(api)


async def test_missing_type_is_422(api: ApiHarness) -> None:
    status, body = await api.request("POST", "/v1/conferences", json={"name": "x"})
    assert status == 422
    assert_error(body, "invalid_field", "type")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"room": "other"}, "room"),
        ({"type": "connect"}, "type"),
        ({"max_participants": 3}, "max_participants"),
        ({"bogus": 1}, "bogus"),
        ({"name": None}, "name"),
        ({"name": 1}, "name"),
        ({"name": "n" * 256}, "name"),
        ({"detail": "d" * 2001}, "detail"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": "60"}, "timeout"),
        ({"timeout": 86401}, "timeout"),
        ({"data": [1]}, "data"),
        ({"name": "ok", "timeout": -1}, "timeout"),  # one bad field: nothing is applied
    ],
)
async def test_invalid_update_field_is_422_and_changes_nothing(
    api: ApiHarness, fields: dict[str, Any], field: str
) -> None:
    conf = await api.create(name="same", room="keep")
    status, body = await api.request("PUT", f"/v1/conferences/{conf['id']}", json=fields)
    assert status == 422, body
    assert_error(body, "invalid_field", field)
    _, after = await api.request("GET", f"/v1/conferences/{conf['id']}")
    assert after == conf


@pytest.mark.parametrize("size", ["0", "101", "-1", "1000000000000"])
@pytest.mark.parametrize("path", ["/v1/conferences", "/v1/conferencecalls"])
async def test_page_size_out_of_range_is_422(api: ApiHarness, path: str, size: str) -> None:
    status, body = await api.request("GET", path, params={"page_size": size})
    assert status == 422
    assert_error(body, "invalid_field", "page_size")


@pytest.mark.parametrize("size", ["1", "100"])
async def test_page_size_bounds_are_accepted(api: ApiHarness, size: str) -> None:
    assert (await api.request("GET", "/v1/conferences", params={"page_size": size}))[0] == 200


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "!!!",
        "eyJ4Ijox",
        "a" * 513,
        # base64 of 6000 "[": json.loads would hit the recursion limit
        base64.urlsafe_b64encode(b"[" * 6000).decode().rstrip("="),
        base64.urlsafe_b64encode(b"[" * 300).decode().rstrip("="),
    ],
)
@pytest.mark.parametrize("path", ["/v1/conferences", "/v1/conferencecalls"])
async def test_bad_page_token_is_422(api: ApiHarness, path: str, token: str) -> None:
    status, body = await api.request("GET", path, params={"page_token": token})
    assert status == 422
    assert_error(body, "invalid_field", "page_token")


# --- 503 / 500 -------------------------------------------------------------------------


async def test_asterisk_down_on_create_is_503_and_room_stays_free(api: ApiHarness) -> None:
    api.ari.fail_create_bridge = True
    status, body = await api.request(
        "POST", "/v1/conferences", json={"type": "conference", "room": "r1"}
    )
    assert status == 503
    assert_error(body, "asterisk_unavailable")
    assert "/bridges" not in body["message"]  # no internals in the message
    api.ari.fail_create_bridge = False
    assert (await api.create(room="r1"))["status"] == "progressing"


class _Log:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def exception(self, event: str, **kw: Any) -> None:
        self.records.append(("exception", event, kw))

    def warning(self, event: str, **kw: Any) -> None:
        self.records.append(("warning", event, kw))


async def test_unexpected_exception_is_generic_500_and_logged(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _Log()
    monkeypatch.setattr(api_errors, "log", log)

    async def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api.store, "get_conference", boom)
    status, body = await api.request("GET", "/v1/conferences/x")
    assert status == 500
    assert_error(body, "internal_error")
    assert "secret" not in body["message"]
    assert log.records == [
        ("exception", "unhandled error in request", {"method": "GET", "path": "/v1/conferences/x"})
    ]


async def test_stray_ari_error_is_503(api: ApiHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    from confsvc.ari import AriUnavailable

    async def down(*_: Any, **__: Any) -> Any:
        raise AriUnavailable(0, "DELETE", "/bridges/x", "refused")

    conf = await api.create()
    monkeypatch.setattr(api.engine, "delete_conference", down)
    status, body = await api.request("DELETE", f"/v1/conferences/{conf['id']}")
    assert status == 503
    assert_error(body, "asterisk_unavailable")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/conferences/%00", 404),
        ("/v1/conferences/%ED%A0%80", 404),  # UTF-8 of a lone surrogate
        ("/v1/conferences/" + "x" * 4000, 404),
        ("/v1/conferencecalls/%FF", 404),
        ("/v1/conferencecalls?conference_id=%00", 200),
        ("/v1/conferencecalls?conference_id=%ED%A0%80", 200),
        ("/v1/conferences?token=tok-a&page_token=%00", 422),
    ],
)
async def test_odd_ids_and_params_never_500(api: ApiHarness, path: str, status: int) -> None:
    async with api.client.get(path, headers={"Authorization": "Bearer tok-a"}) as resp:
        assert resp.status == status, await resp.text()


@pytest.mark.parametrize("raw", ["t\u00f6k".encode().decode("latin-1"), "t\xff\xfe"])
async def test_non_ascii_token_is_401(api: ApiHarness, raw: str) -> None:
    async with api.client.get("/v1/conferences", headers={"Authorization": f"Bearer {raw}"}) as r:
        assert r.status == 401
    status, _ = await api.request("GET", "/v1/conferences", token=None, params={"token": "tök"})
    assert status == 401
