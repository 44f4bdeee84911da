"""/v1/webhooks, /v1/webhook_secret and the conference's notify/callback fields over HTTP:
validation (422 naming the field), tenant scoping (404), the delivery log, secrets."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from confsvc.events.outbox import Outbox
from tests.support.fake_ari import ApiHarness, api_harness

HOOKS = "/v1/webhooks"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    async with api_harness(tmp_path) as h:
        yield h


async def create_hook(api: ApiHarness, token: str = "tok-a", **body: Any) -> dict[str, Any]:
    status, out = await api.request(
        "POST", HOOKS, token=token, json={"url": "http://hooks.test/in", **body}
    )
    assert status == 201, out
    return out  # type: ignore[no-any-return]


async def test_create_list_get_delete(api: ApiHarness) -> None:
    first = await create_hook(api, event_types=["conferencecall_joined", "conference_created"])
    assert first["event_types"] == ["conferencecall_joined", "conference_created"]
    assert first["customer_id"] == "cust-a" and first["url"] == "http://hooks.test/in"
    assert first["secret"].startswith("whsec_")  # generated now: shown this once
    second = await create_hook(api)
    assert second["event_types"] == [] and "secret" not in second
    status, listed = await api.request("GET", HOOKS, params={"page_size": "1"})
    assert status == 200 and [h["id"] for h in listed["result"]] == [second["id"]]
    status, rest = await api.request("GET", HOOKS, params={"page_token": listed["next_page_token"]})
    assert [h["id"] for h in rest["result"]] == [first["id"]] and rest["next_page_token"] is None
    status, got = await api.request("GET", f"{HOOKS}/{first['id']}")
    assert status == 200 and got == {k: v for k, v in first.items() if k != "secret"}
    status, gone = await api.request("DELETE", f"{HOOKS}/{first['id']}")
    assert status == 200 and gone["id"] == first["id"]
    status, body = await api.request("GET", f"{HOOKS}/{first['id']}")
    assert status == 404 and body["error"] == "webhook_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://x.test/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "/relative"}, "url"),
        ({"url": ""}, "url"),
        ({"url": "http://x.test/" + "a" * 2048}, "url"),
        ({"url": 5}, "url"),
        ({}, "url"),
        ({"url": "http://x.test/", "event_types": ["nope"]}, "event_types"),
        ({"url": "http://x.test/", "event_types": "conference_created"}, "event_types"),
        ({"url": "http://x.test/", "extra": 1}, "extra"),
    ],
)
async def test_create_validation_names_the_field(
    api: ApiHarness, body: dict[str, Any], field: str
) -> None:
    status, out = await api.request("POST", HOOKS, json=body)
    assert status == 422, out
    assert out["error"] == "invalid_field" and out["field"] == field


async def test_malformed_bodies_are_400(api: ApiHarness) -> None:
    json_type = {"Content-Type": "application/json"}
    status, out = await api.request("POST", HOOKS, data=b"{not json", headers=json_type)
    assert status == 400 and out["error"] == "bad_request"
    status, out = await api.request("POST", HOOKS, data=b"[1]", headers=json_type)
    assert status == 400


async def test_another_tenants_webhook_is_404(api: ApiHarness) -> None:
    hook = await create_hook(api)
    for method, path in (
        ("GET", f"{HOOKS}/{hook['id']}"),
        ("DELETE", f"{HOOKS}/{hook['id']}"),
        ("GET", f"{HOOKS}/{hook['id']}/deliveries"),
    ):
        status, body = await api.request(method, path, token="tok-b")
        assert status == 404 and body["error"] == "webhook_not_found", (method, path)
    status, body = await api.request("GET", HOOKS, token="tok-b")
    assert body["result"] == []
    status, _ = await api.request("GET", f"{HOOKS}/{hook['id']}")
    assert status == 200  # still there for its owner
    status, _ = await api.request("GET", HOOKS, token=None)
    assert status == 401


async def test_the_delivery_log(api: ApiHarness) -> None:
    hook = await create_hook(api, event_types=["conferencecall_joined"])
    await api.create(room="logged")
    await api.dial_in("logged")
    status, log = await api.request("GET", f"{HOOKS}/{hook['id']}/deliveries")
    assert status == 200
    (row,) = log["result"]
    assert row["event_type"] == "conferencecall_joined" and row["status"] == "pending"
    assert row["attempts"] == 0 and row["webhook_id"] == hook["id"]
    assert row["next_attempt_at"] is not None

    async def refuse(*_: Any) -> int:
        return 500

    box = Outbox(api.store, api.settings, sender=refuse, clock=lambda: time.time() + 5)
    await box.run_once()
    _, log = await api.request("GET", f"{HOOKS}/{hook['id']}/deliveries")
    (row,) = log["result"]
    assert row["attempts"] == 1 and row["last_status_code"] == 500
    assert row["last_error"] == "HTTP 500" and row["status"] == "pending"
    status, out = await api.request(
        "GET", f"{HOOKS}/{hook['id']}/deliveries", params={"page_token": "!!"}
    )
    assert status == 422 and out["field"] == "page_token"
    status, out = await api.request(
        "GET", f"{HOOKS}/{hook['id']}/deliveries", params={"page_size": "500"}
    )
    assert status == 422 and out["field"] == "page_size"


async def test_rotate_the_secret(api: ApiHarness) -> None:
    status, first = await api.request("POST", "/v1/webhook_secret")
    assert status == 200 and first["secret"].startswith("whsec_")
    status, second = await api.request("POST", "/v1/webhook_secret")
    assert second["secret"] != first["secret"]
    assert await api.store.get_webhook_secret("cust-a") == second["secret"]
    hook = await create_hook(api)
    assert "secret" not in hook  # one existed already
    status, out = await api.request("POST", "/v1/webhook_secret", json={"x": 1})
    assert status == 422 and out["field"] == "x"


async def test_a_configured_secret_is_never_shown(tmp_path: Path) -> None:
    async with api_harness(tmp_path, webhook_secrets="cust-a:from-config") as api:
        hook = await create_hook(api)
        assert "secret" not in hook
        status, out = await api.request("POST", "/v1/webhook_secret")
        assert status == 409 and out["error"] == "webhook_secret_configured"


async def test_webhooks_are_limited_per_tenant(api: ApiHarness) -> None:
    for _ in range(20):
        await create_hook(api)
    status, out = await api.request("POST", HOOKS, json={"url": "http://x.test/"})
    assert status == 409 and out["error"] == "webhook_limit_reached"
    await create_hook(api, token="tok-b")  # per tenant


# --- the conference's notify/callback fields ---------------------------------------------


async def test_conference_notify_and_callback_fields(api: ApiHarness) -> None:
    conf = await api.create(
        room="hooks",
        notify_url="https://app.test/notify",
        notify_method="get",
        callback_url="http://app.test/plivo",
    )
    assert conf["notify_url"] == "https://app.test/notify" and conf["notify_method"] == "GET"
    assert conf["callback_url"] == "http://app.test/plivo" and conf["callback_method"] == "POST"
    status, body = await api.request(
        "PUT", f"/v1/conferences/{conf['id']}", json={"notify_url": "", "callback_method": "GET"}
    )
    assert status == 200 and body["notify_url"] is None and body["callback_method"] == "GET"
    assert body["callback_url"] == "http://app.test/plivo"
    plain = await api.create(room="plain")
    assert plain["notify_url"] is None and plain["callback_url"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"notify_url": "mailto:a@b.test"}, "notify_url"),
        ({"notify_url": 3}, "notify_url"),
        ({"notify_method": "PUT"}, "notify_method"),
        ({"callback_url": "http://"}, "callback_url"),
        ({"callback_method": "DELETE"}, "callback_method"),
        ({"callback_method": None}, "callback_method"),
    ],
)
async def test_conference_hook_validation(
    api: ApiHarness, body: dict[str, Any], field: str
) -> None:
    status, out = await api.request(
        "POST", "/v1/conferences", json={"type": "conference", "room": "bad", **body}
    )
    assert status == 422 and out["field"] == field, out
    conf = await api.create(room="good")
    if body.get(field) is not None:
        status, out = await api.request("PUT", f"/v1/conferences/{conf['id']}", json=body)
        assert status == 422 and out["field"] == field, out


async def test_openapi_documents_the_event_routes(api: ApiHarness) -> None:
    _, doc = await api.request("GET", "/v1/openapi.json", token=None)
    paths = doc["paths"]
    assert set(paths[HOOKS]) == {"get", "post"}
    assert set(paths[HOOKS + "/{id}"]) == {"get", "delete"}
    assert set(paths[HOOKS + "/{id}/deliveries"]) == {"get"}
    assert set(paths["/v1/webhook_secret"]) == {"post"}
    assert set(paths["/v1/events"]) == {"get"} and set(paths["/v1/ws"]) == {"get"}
    schemas = doc["components"]["schemas"]
    for name in ("WebhookCreate", "WebhookOut", "DeliveryList", "EventList"):
        assert name in schemas
    assert "notify_url" in schemas["ConferenceCreate"]["properties"]
    assert "callback_method" in schemas["Conference"]["properties"]
