"""The OpenAPI document as client generators read it: no body on 101/204, the event
`type` an enum, a 3.1 `webhooks` section with every event type and its payload schema,
`servers`, HTTP Basic among the security schemes; and it passes openapi-spec-validator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from confsvc.events.derive import EVENT_TYPES
from tests.support.fake_ari import api_harness


@pytest.fixture
async def doc(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with api_harness(tmp_path, public_url="https://confsvc.example") as api:
        _, body = await api.request("GET", "/v1/openapi.json", token=None)
        yield body


def test_the_document_validates(doc: dict[str, Any]) -> None:
    validate(doc)


def test_no_body_where_there_is_none(doc: dict[str, Any]) -> None:
    assert "content" not in doc["paths"]["/v1/ws"]["get"]["responses"]["101"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert "content" not in op["responses"].get("204", {}), (method, path)


def test_events_webhooks_servers_and_security(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert schemas["EventOut"]["properties"]["type"]["enum"] == list(EVENT_TYPES)
    assert set(doc["webhooks"]) == set(EVENT_TYPES)
    joined = doc["webhooks"]["conferencecall_joined"]["post"]
    payload = joined["requestBody"]["content"]["application/json"]["schema"]["allOf"]
    assert payload[0] == {"$ref": "#/components/schemas/EventOut"}
    assert payload[1]["properties"]["type"] == {"const": "conferencecall_joined"}
    assert payload[1]["properties"]["data"] == {"$ref": "#/components/schemas/Conferencecall"}
    data_of = {
        t: doc["webhooks"][t]["post"]["requestBody"]["content"]["application/json"]["schema"][
            "allOf"
        ][1]["properties"]["data"]
        for t in ("conference_created", "recording_finished", "call_ended")
    }
    assert data_of == {
        "conference_created": {"$ref": "#/components/schemas/Conference"},
        "recording_finished": {"$ref": "#/components/schemas/Recording"},
        "call_ended": {"$ref": "#/components/schemas/Call"},
    }
    headers = {p["name"] for p in joined["parameters"]}
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= headers
    assert doc["servers"] == [{"url": "https://confsvc.example"}]
    assert doc["components"]["securitySchemes"]["basicAuth"] == {"type": "http", "scheme": "basic"}
    assert {"basicAuth": []} in doc["security"]
