"""The OpenAPI 3.1 `webhooks` section: every event type the service sends (to webhook
subscriptions and notify_url as a JSON POST; the same JSON on the WebSocket and
GET /v1/events), each with its payload schema: the event (EventOut) with `type` fixed to
that type and `data` the JSON of the resource it is about. Requests carry the Standard
Webhooks signature headers (README "Verifying webhooks"). Pure."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from confsvc.api.openapi import REF

# Event type prefix -> the component schema of its `data` (longest prefix first).
DATA_SCHEMAS = (
    ("conferencecall_", "Conferencecall"),
    ("conference_", "Conference"),
    ("recording_", "Recording"),
    ("call_", "Call"),
)
HEADERS = (
    ("webhook-id", "The delivery's id: the same on every retry (dedupe on it)."),
    ("webhook-timestamp", "Unix seconds when this attempt was signed."),
    ("webhook-signature", "v1,<base64 HMAC-SHA256 of id.timestamp.body> (Standard Webhooks)."),
    ("X-Confsvc-Event", "The event type."),
    ("X-Confsvc-Event-Id", "The event's id."),
)


def data_schema(event_type: str, schemas: Collection[str]) -> dict[str, Any]:
    for prefix, name in DATA_SCHEMAS:
        if event_type.startswith(prefix) and name in schemas:
            return {"$ref": REF.format(model=name)}
    return {"type": "object"}


def webhooks(event_types: Iterable[str], schemas: Collection[str]) -> dict[str, Any]:
    """schemas: the names in components/schemas (EventOut among them)."""
    headers = [
        {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
        | {"description": text}
        for name, text in HEADERS
    ]
    out: dict[str, Any] = {}
    for event_type in event_types:
        payload = {
            "allOf": [
                {"$ref": REF.format(model="EventOut")},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": event_type},
                        "data": data_schema(event_type, schemas),
                    },
                },
            ]
        }
        out[event_type] = {
            "post": {
                "operationId": f"event_{event_type}",
                "summary": f"The {event_type} event",
                "tags": ["events"],
                "parameters": headers,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": payload}},
                },
                "responses": {"2XX": {"description": "Received; anything else is retried"}},
            }
        }
    return out
