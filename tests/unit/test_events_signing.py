"""Signatures, tenant secrets, and what one event is sent as (routing + Plivo callbacks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from confsvc.config import Settings
from confsvc.domain import create_conference, create_conferencecall
from confsvc.events.callbacks import callback_params, floor_params
from confsvc.events.model import Event, Webhook
from confsvc.events.routing import FORM, JSON, plan
from confsvc.events.signing import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Secrets,
    configured_secrets,
    key,
    new_secret,
    sign,
)
from confsvc.store.sqlite import SqliteStore
from tests.support.signatures import receiver, signed_at_its_timestamp, verifies

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
PUBLIC = "http://ctl.example:8080"


# --- signatures ----------------------------------------------------------------------------


def test_headers_follow_standard_webhooks() -> None:
    body = '{"a":1}'
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    mac = hmac.new(b"k" * 32, b"msg_1.1700000000." + body.encode(), hashlib.sha256).digest()
    headers = sign(secret, "msg_1", 1700000000, body)
    assert headers == {
        ID_HEADER: "msg_1",
        TIMESTAMP_HEADER: "1700000000",
        SIGNATURE_HEADER: "v1," + base64.b64encode(mac).decode(),
    }
    assert signed_at_its_timestamp(secret, headers, body)


def test_the_library_verifies_generated_and_configured_secrets() -> None:
    now = int(time.time())
    for secret in (new_secret(), new_secret(), "plain-configured"):
        headers = sign(secret, "d-1", now, "body")
        assert verifies(secret, headers, "body") and verifies(secret, headers, b"body")
        assert receiver(secret).verify("body", headers, json_parse=False) is None
        assert not verifies(secret, headers, "body!")  # body changed
        assert not verifies(new_secret(), headers, "body")  # wrong secret
        assert not verifies(secret, {**headers, ID_HEADER: "d-2"}, "body")  # id changed
        old = sign(secret, "d-1", now - 301, "body")
        assert not verifies(secret, old, "body")  # too old (replay)


def test_generated_secrets_are_whsec_base64_and_differ() -> None:
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("whsec_") and len(key(a)) == 32
    assert base64.b64decode(a.removeprefix("whsec_"), validate=True) == key(a)


def test_configured_secrets_parse_pairs() -> None:
    s = Settings(webhook_secrets="cust-a:sa, cust-b:s:b,broken,:x")
    assert configured_secrets(s) == {"cust-a": "sa", "cust-b": "s:b"}
    with pytest.raises(ValueError, match="not base64"):
        configured_secrets(Settings(webhook_secrets="cust-a:whsec_abcde"))


async def test_secrets_configured_stored_generated_rotated(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "s.sqlite3") as store:
        secrets = Secrets(Settings(webhook_secrets="cust-a:fixed"), store)
        assert await secrets.ensure("cust-a") == ("fixed", False)
        assert secrets.is_configured("cust-a") and not secrets.is_configured("cust-b")
        first, generated = await secrets.ensure("cust-b")
        assert generated and first.startswith("whsec_")
        assert await secrets.ensure("cust-b") == (first, False)  # shown once
        rotated = await secrets.rotate("cust-b")
        assert rotated != first and await secrets.get("cust-b") == rotated
        assert await store.get_webhook_secret("cust-a") is None  # config is never stored


# --- routing -----------------------------------------------------------------------------


def event(kind: str, data: dict[str, Any], customer: str = "cust-a") -> Event:
    return Event(
        id="ev-1",
        type=kind,
        customer_id=customer,
        conference_id="conf-1",
        resource_id=str(data.get("id", "")),
        timestamp=T0,
        data=data,
        seq=7,
    )


def conference(**hooks: Any) -> Any:
    return create_conference(customer_id="cust-a", now=T0, room="board", id="conf-1", **hooks)


def hook(id: str, customer: str = "cust-a", types: tuple[str, ...] = ()) -> Webhook:
    return Webhook(id, customer, f"http://hooks.test/{id}", types, T0)


CALL = {"id": "cc-1", "conference_id": "conf-1", "reference_id": "chan-9", "status": "joined"}


def test_plan_webhooks_filters_by_type_and_never_crosses_tenants() -> None:
    hooks = [hook("all"), hook("only-left", types=("conferencecall_leaved",)), hook("b", "cust-b")]
    out = plan(event("conferencecall_joined", CALL), conference(), hooks, PUBLIC)
    assert [d.target for d in out] == ["webhook:all"]
    (d,) = out
    assert d.webhook_id == "all" and d.method == "POST" and d.content_type == JSON
    assert json.loads(d.body) == event("conferencecall_joined", CALL).to_json()
    assert (d.order_key, d.event_seq, d.event_id, d.kind) == ("conf-1", 7, "ev-1", "webhook")


def test_plan_notify_url_post_and_get() -> None:
    ev = event("conferencecall_joined", CALL)
    (post,) = plan(ev, conference(notify_url="http://n.test/x"), [], PUBLIC)
    assert (post.kind, post.target, post.method) == ("notify", "notify:conf-1", "POST")
    assert json.loads(post.body)["type"] == "conferencecall_joined"
    (get,) = plan(ev, conference(notify_url="http://n.test/x", notify_method="get"), [], PUBLIC)
    assert get.method == "GET" and get.content_type == ""
    q = parse_qs(get.body)
    assert q["type"] == ["conferencecall_joined"] and q["id"] == ["ev-1"] and q["seq"] == ["7"]
    assert json.loads(q["data"][0]) == CALL


def test_plan_skips_another_tenants_conference_hooks() -> None:
    other = create_conference(
        customer_id="cust-b", now=T0, room="x", id="conf-1", notify_url="http://n.test/"
    )
    assert plan(event("conferencecall_joined", CALL), other, [], PUBLIC) == []


def test_callbacks_enter_exit_digits_form_encoded() -> None:
    conf = conference(callback_url="http://cb.test/plivo")
    (enter,) = plan(event("conferencecall_joined", CALL), conf, [], PUBLIC)
    assert enter.kind == "callback" and enter.method == "POST" and enter.content_type == FORM
    assert parse_qs(enter.body) == {
        "ConferenceAction": ["enter"],
        "ConferenceName": ["board"],
        "ConferenceUUID": ["conf-1"],
        "ConferenceMemberID": ["cc-1"],
        "CallUUID": ["chan-9"],
    }
    (exit_,) = plan(event("conferencecall_leaved", CALL), conf, [], PUBLIC)
    assert parse_qs(exit_.body)["ConferenceAction"] == ["exit"]
    digits = callback_params(event("conferencecall_digits", {**CALL, "digits": "12"}), conf, "")
    assert digits is not None
    assert digits["ConferenceAction"] == "digits" and digits["ConferenceDigitsMatch"] == "12"
    # Not ConferenceActions: nothing for the callback_url.
    for kind in ("conferencecall_joining", "conferencecall_leaving", "conference_updated"):
        assert plan(event(kind, CALL), conf, [], PUBLIC) == []


def test_callback_record_has_the_recording_fields_and_get_uses_the_query() -> None:
    conf = conference(callback_url="http://cb.test/plivo?app=1", callback_method="GET")
    rec = {
        "id": "rec-1",
        "conference_id": "conf-1",
        "status": "finished",
        "duration_ms": 2500,
        "start_ms": 1000,
        "end_ms": 3500,
        "download_url": "/v1/recordings/rec-1/file",
    }
    (d,) = plan(event("recording_finished", rec), conf, [], PUBLIC)
    assert d.method == "GET" and d.url == "http://cb.test/plivo?app=1"
    assert parse_qs(d.body) == {
        "ConferenceAction": ["record"],
        "ConferenceName": ["board"],
        "ConferenceUUID": ["conf-1"],
        "RecordUrl": [f"{PUBLIC}/v1/recordings/rec-1/file"],
        "RecordingID": ["rec-1"],
        "RecordingDuration": ["2"],
        "RecordingDurationMs": ["2500"],
        "RecordingStartMs": ["1000"],
        "RecordingEndMs": ["3500"],
    }
    failed = {**rec, "status": "failed", "download_url": None}
    assert plan(event("recording_finished", failed), conf, [], PUBLIC) == []
    assert plan(event("recording_started", rec), conf, [], PUBLIC) == []


def test_callback_floor_names_the_new_floor_holder() -> None:
    conf = conference(callback_url="http://cb.test/plivo")
    member = create_conferencecall(
        conference_id="conf-1", customer_id="cust-a", reference_id="chan-2", now=T0, id="cc-2"
    )
    assert floor_params(conf, member)["ConferenceAction"] == "floor"
    (d,) = plan(event("conference_updated", {"id": "conf-1"}), conf, [], PUBLIC, member)
    assert parse_qs(d.body)["ConferenceMemberID"] == ["cc-2"]
    assert parse_qs(d.body)["CallUUID"] == ["chan-2"]
