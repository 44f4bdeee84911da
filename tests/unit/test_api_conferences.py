"""/v1/conferences over HTTP: real app, real Engine, real SqliteStore, fake ARI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from confsvc.api import schemas
from tests.support.fake_ari import DIAL_HOST, ApiHarness, api_harness


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    async with api_harness(tmp_path) as h:
        yield h


# --- create ----------------------------------------------------------------------------


async def test_create_returns_201_with_the_conference(api: ApiHarness) -> None:
    status, body = await api.request(
        "POST",
        "/v1/conferences",
        json={
            "type": "conference",
            "name": "weekly",
            "detail": "team sync",
            "room": "weekly.sync_1",
            "timeout": 3600,
            "max_participants": 5,
            "data": {"k": [1, 2]},
        },
    )
    assert status == 201
    schemas.Conference.model_validate(body)
    assert body["customer_id"] == "cust-a"
    assert body["status"] == "progressing"
    assert body["type"] == "conference"
    assert (body["name"], body["detail"], body["room"]) == ("weekly", "team sync", "weekly.sync_1")
    assert (body["timeout"], body["max_participants"]) == (3600, 5)
    assert body["data"] == {"k": [1, 2]}
    assert body["dial_uri"] == f"sip:weekly.sync_1@{DIAL_HOST}"
    assert body["conferencecall_ids"] == []
    assert body["tm_delete"] is None
    # The bridge is named after the room and has the conference id.
    ((args, kwargs),) = api.ari.called("create_bridge")
    assert args == (body["id"],) and kwargs["name"] == "weekly.sync_1"


async def test_create_minimal_body_uses_defaults(api: ApiHarness) -> None:
    status, body = await api.request("POST", "/v1/conferences", json={"type": "connect"})
    assert status == 201
    assert body["type"] == "connect"
    assert body["max_participants"] == 2
    assert (body["name"], body["detail"], body["timeout"], body["data"]) == ("", "", 0, {})
    assert len(body["room"]) == 10  # generated


async def test_create_sets_location_header(api: ApiHarness) -> None:
    async with api.client.post(
        "/v1/conferences", json={"type": "conference"}, headers={"Authorization": "Bearer tok-a"}
    ) as resp:
        assert resp.status == 201
        body = await resp.json()
        assert resp.headers["Location"] == f"/v1/conferences/{body['id']}"


async def test_create_null_room_and_max_participants_mean_default(api: ApiHarness) -> None:
    body = await api.create(room=None, max_participants=None)
    assert body["max_participants"] == 20 and len(body["room"]) == 10


async def test_max_participants_ceiling_is_the_seeds_20_unless_raised(tmp_path: Path) -> None:
    # The seeds cap a room at 20; CONFSVC_MAX_PARTICIPANTS raises the ceiling (town halls)
    # but not the default, and never the connect type's 2.
    async with api_harness(tmp_path / "seed") as api:
        status, body = await api.request(
            "POST", "/v1/conferences", json={"type": "conference", "max_participants": 21}
        )
        assert status == 422 and body["error"] == "invalid_field", body
        assert "between 1 and 20" in body["message"]
    async with api_harness(tmp_path / "raised", max_participants=200) as api:
        assert (await api.create(max_participants=200))["max_participants"] == 200
        assert (await api.create())["max_participants"] == 20
        status, body = await api.request(
            "POST", "/v1/conferences", json={"type": "connect", "max_participants": 3}
        )
        assert status == 422, body
        conf = await api.create(max_participants=30)
        for _ in range(25):  # more than the seeds' 20 get in
            await api.dial_in(conf["room"])


async def test_room_in_use_is_409_and_free_again_after_terminate(api: ApiHarness) -> None:
    first = await api.create(room="dup")
    status, body = await api.request(
        "POST", "/v1/conferences", json={"type": "conference", "room": "dup"}
    )
    assert status == 409 and body["error"] == "room_in_use"
    # Nor may another tenant take it while it is live (dial-in names only the room).
    status, body = await api.request(
        "POST", "/v1/conferences", token="tok-b", json={"type": "conference", "room": "dup"}
    )
    assert status == 409 and body["error"] == "room_in_use"
    status, _ = await api.request("DELETE", f"/v1/conferences/{first['id']}")
    assert status == 200
    assert (await api.create(token="tok-b", room="dup"))["room"] == "dup"


async def test_token_in_query_string_works(api: ApiHarness) -> None:
    status, body = await api.request(
        "POST", "/v1/conferences", token=None, params={"token": "tok-b"}, json={"type": "connect"}
    )
    assert status == 201 and body["customer_id"] == "cust-b"
    status, got = await api.request(
        "GET", f"/v1/conferences/{body['id']}", token=None, params={"token": "tok-b"}
    )
    assert status == 200 and got["id"] == body["id"]


async def test_json_body_with_a_form_content_type_is_415(api: ApiHarness) -> None:
    # The seed's curl example (--data-raw without a header) sends this: curl labels it a
    # form. A JSON route reads application/json only (api/bodies.py says why).
    status, body = await api.request(
        "POST",
        "/v1/conferences",
        data=b'{"type": "conference", "name": "raw"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 415 and body["error"] == "unsupported_media_type"


# --- get / list ------------------------------------------------------------------------


async def test_get_returns_the_conference(api: ApiHarness) -> None:
    created = await api.create(name="x")
    status, body = await api.request("GET", f"/v1/conferences/{created['id']}")
    assert status == 200
    assert body == created


async def test_list_pages_through_three_pages(api: ApiHarness) -> None:
    ids = [(await api.create(name=f"c{i}"))["id"] for i in range(7)]
    await api.create(token="tok-b")  # never visible to tenant a
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        params = {"page_size": "3"} | ({"page_token": token} if token else {})
        status, body = await api.request("GET", "/v1/conferences", params=params)
        assert status == 200
        schemas.ConferenceList.model_validate(body)
        pages += 1
        seen += [c["id"] for c in body["result"]]
        token = body["next_page_token"]
        if token is None:
            break
        assert len(body["result"]) == 3
    assert pages == 3
    assert seen == list(reversed(ids))  # newest first, no duplicates, nothing missing


async def test_list_default_page_and_empty_token(api: ApiHarness) -> None:
    await api.create()
    status, body = await api.request("GET", "/v1/conferences", params={"page_token": ""})
    assert status == 200
    assert len(body["result"]) == 1 and body["next_page_token"] is None


async def test_list_filters_by_status(api: ApiHarness) -> None:
    live = await api.create()
    ended = await api.create()
    await api.request("DELETE", f"/v1/conferences/{ended['id']}")
    status, body = await api.request("GET", "/v1/conferences", params={"status": "terminated"})
    assert status == 200 and [c["id"] for c in body["result"]] == [ended["id"]]
    _, body = await api.request("GET", "/v1/conferences", params={"status": "progressing"})
    assert [c["id"] for c in body["result"]] == [live["id"]]


async def test_list_is_scoped_to_the_tenant(api: ApiHarness) -> None:
    await api.create(token="tok-b")
    status, body = await api.request("GET", "/v1/conferences")
    assert status == 200 and body == {"result": [], "next_page_token": None}


# --- update ----------------------------------------------------------------------------


async def test_put_updates_given_fields_only(api: ApiHarness) -> None:
    created = await api.create(name="old", detail="keep", data={"a": 1})
    status, body = await api.request(
        "PUT",
        f"/v1/conferences/{created['id']}",
        json={"name": "new", "timeout": 60, "data": {"b": 2}},
    )
    assert status == 200
    assert (body["name"], body["detail"], body["timeout"]) == ("new", "keep", 60)
    assert body["data"] == {"b": 2}  # replaced, not merged
    _, again = await api.request("GET", f"/v1/conferences/{created['id']}")
    assert again == body


async def test_put_detail_only(api: ApiHarness) -> None:
    created = await api.create(name="n")
    status, body = await api.request(
        "PUT", f"/v1/conferences/{created['id']}", json={"detail": "d"}
    )
    assert status == 200 and (body["name"], body["detail"]) == ("n", "d")


async def test_put_on_terminated_conference_is_409(api: ApiHarness) -> None:
    created = await api.create()
    await api.request("DELETE", f"/v1/conferences/{created['id']}")
    status, body = await api.request(
        "PUT", f"/v1/conferences/{created['id']}", json={"name": "late"}
    )
    assert status == 409 and body["error"] == "conference_invalid_state"


async def test_put_invalid_value_changes_nothing(api: ApiHarness) -> None:
    created = await api.create(name="before")
    status, body = await api.request(
        "PUT", f"/v1/conferences/{created['id']}", json={"name": "after", "timeout": -1}
    )
    assert status == 422 and body["field"] == "timeout"
    _, got = await api.request("GET", f"/v1/conferences/{created['id']}")
    assert got == created  # not even tm_update moved


# --- delete ----------------------------------------------------------------------------


async def test_delete_empty_conference_is_terminated_at_once(api: ApiHarness) -> None:
    created = await api.create()
    status, body = await api.request("DELETE", f"/v1/conferences/{created['id']}")
    assert status == 200
    assert body["status"] == "terminated" and body["tm_delete"] is not None
    assert api.ari.called("destroy_bridge") == [((created["id"],), {})]


async def test_delete_with_callers_is_terminating_then_terminated(api: ApiHarness) -> None:
    created = await api.create(room="busy")
    call_id = await api.dial_in("busy")
    status, body = await api.request("DELETE", f"/v1/conferences/{created['id']}")
    assert status == 200
    assert body["status"] == "terminating"
    await api.engine.settle()
    _, body = await api.request("GET", f"/v1/conferences/{created['id']}")
    assert body["status"] == "terminated" and body["conferencecall_ids"] == []
    _, call = await api.request("GET", f"/v1/conferencecalls/{call_id}")
    assert call["status"] == "leaved"


async def test_delete_twice_is_409(api: ApiHarness) -> None:
    created = await api.create()
    assert (await api.request("DELETE", f"/v1/conferences/{created['id']}"))[0] == 200
    status, body = await api.request("DELETE", f"/v1/conferences/{created['id']}")
    assert status == 409
    assert body["error"] == "conference_invalid_state"
    assert set(body) == {"error", "message"}


async def test_delete_while_terminating_is_409(api: ApiHarness) -> None:
    api.ari.auto_leave = False  # the caller never leaves: stays terminating
    created = await api.create(room="stuck")
    await api.dial_in("stuck")
    assert (await api.request("DELETE", f"/v1/conferences/{created['id']}"))[0] == 200
    status, body = await api.request("DELETE", f"/v1/conferences/{created['id']}")
    assert status == 409 and body["error"] == "conference_invalid_state"


# --- tenants ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "json"),
    [("GET", None), ("PUT", {"name": "hijack"}), ("DELETE", None)],
)
async def test_other_tenants_conference_is_404(
    api: ApiHarness, method: str, json: dict[str, str] | None
) -> None:
    theirs = await api.create(token="tok-b", name="theirs")
    status, body = await api.request(method, f"/v1/conferences/{theirs['id']}", json=json)
    assert status == 404
    assert body["error"] == "conference_not_found"
    _, still = await api.request("GET", f"/v1/conferences/{theirs['id']}", token="tok-b")
    assert still["name"] == "theirs" and still["status"] == "progressing"


@pytest.mark.parametrize(
    ("method", "json"),
    [("GET", None), ("PUT", {"name": "x"}), ("DELETE", None)],
)
async def test_unknown_conference_is_404(
    api: ApiHarness, method: str, json: dict[str, str] | None
) -> None:
    status, body = await api.request(method, "/v1/conferences/nope", json=json)
    assert status == 404 and body["error"] == "conference_not_found"


# --- health ----------------------------------------------------------------------------


async def test_health_needs_no_token_and_merges_extra(tmp_path: Path) -> None:
    async with api_harness(tmp_path, health=lambda: {"ari_connected": True}) as h:
        status, body = await h.request("GET", "/health", token=None)
    assert status == 200 and body == {"status": "ok", "ari_connected": True}


async def test_health_without_callable(api: ApiHarness) -> None:
    assert await api.request("GET", "/health", token=None) == (200, {"status": "ok"})


# --- OpenAPI ---------------------------------------------------------------------------


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return out + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_openapi_lists_every_route(api: ApiHarness) -> None:
    async with api.client.get("/v1/openapi.json") as resp:  # no token needed
        assert resp.status == 200
        doc = json.loads(await resp.text())
    assert doc["openapi"].startswith("3.1")
    registered = {
        (r.method.lower(), r.resource.canonical)
        for r in api.client.app.router.routes()
        if r.resource is not None
    }
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert registered == documented
    expected = {
        ("post", "/v1/conferences"),
        ("get", "/v1/conferences"),
        ("get", "/v1/conferences/{id}"),
        ("put", "/v1/conferences/{id}"),
        ("delete", "/v1/conferences/{id}"),
        ("get", "/v1/conferencecalls"),
        ("get", "/v1/conferencecalls/{id}"),
        ("delete", "/v1/conferencecalls/{id}"),
        ("post", "/v1/conferences/{id}/recording_start"),
        ("post", "/v1/conferences/{id}/recording_stop"),
        ("get", "/v1/recordings"),
        ("get", "/v1/recordings/{id}"),
        ("get", "/v1/recordings/{id}/file"),
        ("delete", "/v1/recordings/{id}"),
        ("get", "/health"),
        ("get", "/v1/openapi.json"),
    }
    assert expected <= documented  # other resources (events, webhooks...) come on top
    for ref in _refs(doc):
        assert _resolve(doc, ref) is not None
    schemas = doc["components"]["schemas"]
    for name in ("ConferenceCreate", "ConferenceUpdate", "Conference", "Conferencecall"):
        assert name in schemas
    for name in ("Error", "ConferenceList", "ConferencecallList"):
        assert name in schemas
    assert schemas["ConferenceCreate"]["required"] == ["type"]
    assert schemas["ConferenceCreate"]["additionalProperties"] is False


async def test_openapi_operations_document_their_responses(api: ApiHarness) -> None:
    _, doc = await api.request("GET", "/v1/openapi.json", token=None)
    ops = doc["paths"]
    assert set(ops["/v1/conferences"]["post"]["responses"]) >= {
        "201",
        "400",
        "401",
        "409",
        "422",
        "500",
        "503",
    }
    assert set(ops["/v1/conferences/{id}"]["put"]["responses"]) >= {
        "200",
        "400",
        "401",
        "404",
        "409",
        "422",
    }
    assert set(ops["/v1/conferencecalls/{id}"]["delete"]["responses"]) >= {
        "200",
        "401",
        "404",
        "409",
    }
    assert set(ops["/v1/conferences"]["get"]["responses"]) >= {"200", "400", "401", "422"}
    assert ops["/health"]["get"]["security"] == []
    assert "security" not in ops["/v1/conferences"]["get"]  # the global one applies
    item = ops["/v1/conferences/{id}"]["get"]
    assert item["parameters"][0] == {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},  # one non-empty path segment
    }
    listed = {p["name"] for p in ops["/v1/conferencecalls"]["get"]["parameters"]}
    assert listed == {"page_size", "page_token", "status", "conference_id"}
    body_ref = ops["/v1/conferences"]["post"]["requestBody"]["content"]["application/json"]
    assert body_ref["schema"] == {"$ref": "#/components/schemas/ConferenceCreate"}
