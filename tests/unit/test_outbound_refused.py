"""Issue 11, defects 2, 3 and 6 through the service's own doors: every URL field of the
API refuses internal addresses (422 url_not_allowed naming the field), a loopback
listener proves no request leaves for a refused URL (at the API and at delivery time,
for webhooks, notify_url and callback_url), the ARI and controller ports stay closed
even where 127.0.0.1 is allowed, redirects are not followed, and a failed delivery is
logged (it raised TypeError on structlog's `event` argument before).

Only IP literals and `localhost` here: no DNS needed (test_outbound_policy.py has the
name forms with a fake resolver)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from confsvc.config import Settings
from confsvc.domain import now
from confsvc.events import wiring as events_wiring
from confsvc.events.model import DELIVERED, FAILED, PENDING, Webhook
from confsvc.events.outbox import Outbox
from confsvc.store.sqlite import SqliteStore
from tests.support.fake_ari import ApiHarness, api_harness
from tests.support.listener import Listener, listening
from tests.support.outbound import rows_of_every_kind

LOOPBACK = "127.0.0.1/32"
PLIVO = "/v1/Account/cust-a/Conference/"
DIALOUT = {"dialout_allow": "cust-a:+"}


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    async with listening() as lst:
        yield lst


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(tmp_path / "outbound.sqlite3") as s:
        events_wiring.connect(s, Settings())
        yield s


async def deliver_all(store: SqliteStore, settings: Settings) -> None:
    """Real outbox, real HTTP: passes until nothing is due."""
    box = Outbox(store, settings)
    try:
        while await box.run_once():
            pass
    finally:
        await box.close()


# --- at delivery time (the outbox) ------------------------------------------------------


async def test_refused_deliveries_send_nothing_and_fail_at_once(
    store: SqliteStore, listener: Listener
) -> None:
    await store.create_webhook(Webhook("wh-2", "cust-a", "http://[::1]:9/x", (), now()))
    await rows_of_every_kind(store, listener.base)
    await deliver_all(store, Settings())  # no allow-list: loopback is refused
    assert listener.seen == []
    assert await store.count_deliveries(PENDING) == 0  # not retried: failed for good
    assert await store.count_deliveries(FAILED) == 7  # 2 events x (2 webhooks, notify) + cb


@pytest.mark.parametrize("port_setting", ["ari_port", "http_port"])
async def test_ari_and_controller_ports_stay_closed_when_loopback_is_allowed(
    store: SqliteStore, listener: Listener, port_setting: str
) -> None:
    await rows_of_every_kind(store, listener.base)
    settings = Settings(outbound_allow=LOOPBACK, **{port_setting: listener.port})
    await deliver_all(store, settings)
    assert listener.seen == []
    assert await store.count_deliveries(FAILED) == 5


async def test_allowed_loopback_is_delivered_and_a_redirect_is_not_followed(
    store: SqliteStore, listener: Listener
) -> None:
    await store.create_webhook(Webhook("wh-r", "cust-a", f"{listener.base}/redirect", (), now()))
    await rows_of_every_kind(store, listener.base)
    await deliver_all(store, Settings(outbound_allow=LOOPBACK, webhook_retry_for=0))
    assert sorted(listener.paths()) == sorted(
        ["/hook", "/hook", "/notify", "/notify", "/cb", "/redirect", "/redirect"]
    )
    assert await store.count_deliveries(DELIVERED) == 5  # the 302s are failures


async def test_a_failed_delivery_is_logged_not_a_type_error(store: SqliteStore) -> None:
    """Defect 6: `event=` to a structlog call raised TypeError in every attempt."""
    await store.create_webhook(Webhook("wh-1", "cust-a", "http://hooks.test/in", (), now()))
    assert store.journal is not None
    await store.journal.emit(store, "conferencecall_digits", "cust-a", {"conference_id": "c"})

    async def down(method: str, url: str, headers: dict[str, str], body: bytes) -> int:
        return 503

    box = Outbox(store, Settings(), sender=down)
    with capture_logs() as logs:
        assert await box.run_once() == 1
    failed = [e for e in logs if e["event"] == "delivery failed: will retry"]
    assert len(failed) == 1 and failed[0]["event_type"] == "conferencecall_digits", logs


# --- at the API -------------------------------------------------------------------------


def defect_2_url(port: int, userinfo: bool = True) -> str:
    """The issue's URL: ARI's REST through a notify_url (credentials in the URL, or as
    ARI's api_key parameter, which needs no userinfo)."""
    auth = "confsvc:confsvc-ari-dev@" if userinfo else ""
    key = "" if userinfo else "&api_key=confsvc:confsvc-ari-dev"
    return (
        f"http://{auth}127.0.0.1:{port}/ari/channels"
        f"?endpoint=PJSIP/%2B19005550199@trunk&app=confsvc{key}"
    )


async def joined_call(api: ApiHarness) -> str:
    await api.create(room="r1")
    return await api.dial_in("r1")


async def try_field(api: ApiHarness, field: str, url: str) -> tuple[int, Any]:
    """Puts `url` into one of the API's URL fields; (status, body)."""
    if field == "webhook.url":
        return await api.request("POST", "/v1/webhooks", json={"url": url})
    if field in ("notify_url", "callback_url", "wait_sound", "enter_sound", "exit_sound"):
        body = {"type": "conference", "room": "r9", field: url}
        return await api.request("POST", "/v1/conferences", json=body)
    if field == "update.notify_url":
        conf = await api.create(room="r8")
        return await api.request("PUT", f"/v1/conferences/{conf['id']}", json={"notify_url": url})
    if field == "play.media":
        call = await joined_call(api)
        return await api.request("POST", f"/v1/conferencecalls/{call}/play", json={"media": url})
    if field == "plivo.play.url":
        await joined_call(api)
        return await api.request("POST", PLIVO + "r1/Member/all/Play/", json={"url": url})
    if field == "plivo.callback_url":
        return await api.request("GET", PLIVO, params={"callback_url": url})
    if field == "dialout.notify_url":
        return await api.request(
            "POST", "/v1/calls", json={"dest": "+6511111111", "notify_url": url}
        )
    raise AssertionError(field)


FIELDS = {
    "webhook.url": "url",
    "notify_url": "notify_url",
    "callback_url": "callback_url",
    "wait_sound": "wait_sound",
    "enter_sound": "enter_sound",
    "exit_sound": "exit_sound",
    "update.notify_url": "notify_url",
    "play.media": "media",
    "plivo.play.url": "url",
    "plivo.callback_url": "callback_url",
    "dialout.notify_url": "notify_url",
}
INTERNAL = [
    "http://127.0.0.1/x.wav",
    "http://0x7f000001/x.wav",
    "http://2130706433/x.wav",
    "http://[::1]/x.wav",
    "http://[::ffff:127.0.0.1]/x.wav",
    "http://localhost/x.wav",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/x.wav",
    "http://user:pass@93.184.215.14/x.wav",
]


@pytest.mark.parametrize("url", INTERNAL)
@pytest.mark.parametrize("field", list(FIELDS))
async def test_every_url_field_refuses_internal_addresses(
    tmp_path: Path, field: str, url: str
) -> None:
    async with api_harness(tmp_path, **DIALOUT) as api:
        status, body = await try_field(api, field, url)
        assert status == 422, body
        assert body["error"] == "url_not_allowed" and body["field"] == FIELDS[field], body
        assert FIELDS[field] in body["message"]
        assert not api.ari.called("play_on_channel") and not api.ari.called("originate")


@pytest.mark.parametrize("userinfo", [True, False])
@pytest.mark.parametrize("field", list(FIELDS))
async def test_the_defect_2_url_is_refused_and_never_requested(
    tmp_path: Path, listener: Listener, field: str, userinfo: bool
) -> None:
    """The listener plays ARI (its port is the ARI port); 127.0.0.1 is allowed, as in
    make run and the tests: the ARI port stays closed all the same."""
    async with api_harness(
        tmp_path, outbound_allow=LOOPBACK, ari_port=listener.port, **DIALOUT
    ) as api:
        status, body = await try_field(api, field, defect_2_url(listener.port, userinfo))
        assert status == 422 and body["error"] == "url_not_allowed", body
        await api.engine.lanes.drain()
        await deliver_all(api.store, api.settings)  # whatever was stored is sent now
        await asyncio.sleep(0.1)  # a Plivo callback would be on its way
    assert listener.seen == []


async def test_allowed_loopback_passes_and_a_plivo_redirect_is_not_followed(
    tmp_path: Path, listener: Listener
) -> None:
    async with api_harness(tmp_path, outbound_allow=LOOPBACK) as api:
        status, body = await try_field(api, "plivo.callback_url", f"{listener.base}/redirect")
        assert status == 202, body
        await asyncio.wait_for(listener.arrived.wait(), 5)
        await asyncio.sleep(0.3)  # time enough to follow it
        status, body = await try_field(api, "notify_url", f"{listener.base}/n")
        assert status == 201, body
    assert listener.paths() == ["/redirect"]
