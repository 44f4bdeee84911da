"""Operating the controller against a real Asterisk and real phones: readiness follows
Asterisk (a private instance is stopped and started again), and /metrics, scraped after
real calls, parses with prometheus_client's own parser and counts what happened."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.support.controller import Controller, running_controller
from tests.support.listener import listening
from tests.support.room import calls_of, create_room, phones, wait_joined
from tests.support.runtime import Runtime, started
from tests.support.runtime import test_env as session_env

METRICS_TOKEN = "operator-metrics-token"


def ready_env() -> dict[str, str]:
    """The session layout moved up by 400 (SIP base+460, ARI +488, HTTP +480, trunk +560),
    RTP base+6000..6499: clear of the session's instance, its phones and test_sip_auth's."""
    base = int(os.environ.get("CONFSVC_TEST_PORT_BASE", "25000"))
    env = session_env(base + 400)
    env.update(CONFSVC_RTP_START=str(base + 6000), CONFSVC_RTP_END=str(base + 6499))
    return env


@pytest.fixture
def private_runtime(runtime: Runtime) -> Iterator[Runtime]:
    # Needs the session's runtime first: it builds the rootfs both use.
    with started(Runtime(env=ready_env()), "the readiness test's Asterisk") as rt:
        yield rt


async def get(ctl: Controller, path: str, **headers: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(ctl.base + path, headers=headers) as r:
        body = await r.json() if r.content_type == "application/json" else await r.text()
        return r.status, body


async def wait_status(ctl: Controller, path: str, status: int, timeout: float) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got, body = await get(ctl, path)
        if got == status:
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{path}: wanted {status}, last {got} {body}")
        await asyncio.sleep(0.2)


async def test_ready_is_503_while_asterisk_is_down_and_200_when_back(
    private_runtime: Runtime, tmp_path: Path
) -> None:
    async with running_controller(private_runtime, tmp_path / "ctl") as ctl:
        status, body = await get(ctl, "/ready")
        assert status == 200, body
        assert body["status"] == "ready" and body["reasons"] == []
        await asyncio.to_thread(private_runtime.stop)
        body = await wait_status(ctl, "/ready", 503, timeout=10)
        assert body["status"] == "not_ready"
        assert body["reasons"] == ["ari_disconnected"], body
        assert body["ari_connected"] is False and body["store_ok"] is True
        # Liveness is not readiness: the process is up.
        status, health = await get(ctl, "/health")
        assert status == 200 and health["ari_connected"] is False
        await asyncio.to_thread(private_runtime.start)
        body = await wait_status(ctl, "/ready", 200, timeout=30)
        assert body["status"] == "ready"


def scrape(text: str) -> dict[str, list[Sample]]:
    """name -> samples, as prometheus_client's parser reads the page."""
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def test_metrics_count_real_calls(runtime: Runtime, tmp_path: Path) -> None:
    async with (
        running_controller(runtime, tmp_path / "ctl", CONFSVC_METRICS_TOKEN=METRICS_TOKEN) as ctl,
        listening() as receiver,
    ):
        # No token, or a tenant's token: refused (the page covers every tenant).
        assert (await get(ctl, "/metrics"))[0] == 401
        auth = {"Authorization": "Bearer tenant-a-token"}
        assert (await get(ctl, "/metrics", **auth))[0] == 401
        hook = {"url": f"{receiver.base}/hook"}
        await ctl.request("POST", "/v1/webhooks", json=hook, expect=201)
        conf = await create_room(ctl, "metered")
        async with phones(runtime, [440.0, 1150.0], "metrics") as ps:
            for p in ps:
                await p.dial("metered")
            await wait_joined(ctl, conf["id"], 2)
            status, page = await get(ctl, "/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
            assert status == 200
            live = scrape(page)
            assert value(live["confsvc_conferencecalls"], "confsvc_conferencecalls",
                         status="joined") == 2  # fmt: skip
            assert value(live["confsvc_conferences"], "confsvc_conferences",
                         status="progressing") == 1  # fmt: skip
            alice = next(c for c in await calls_of(ctl, conf["id"]) if c["status"] == "joined")
            await ctl.request("DELETE", f"/v1/conferencecalls/{alice['id']}", expect=200)
            await ctl.wait_for(
                f"/v1/conferencecalls?conference_id={conf['id']}",
                lambda b: sorted(c["status"] for c in b["result"]) == ["joined", "leaved"],
            )
            for p in ps:
                await p.hangup()
            await ctl.wait_for(
                f"/v1/conferencecalls?conference_id={conf['id']}",
                lambda b: all(c["status"] == "leaved" for c in b["result"]),
            )
        await ctl.wait_for("/v1/webhooks", lambda _: len(receiver.seen) >= 6)
        await asyncio.sleep(0.5)  # the last attempts' results recorded
        status, page = await get(ctl, "/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
        m = scrape(page)
        assert value(m["confsvc_joins"], "confsvc_joins_total") == 2
        assert value(m["confsvc_leaves"], "confsvc_leaves_total") == 2
        assert value(m["confsvc_kicks"], "confsvc_kicks_total") == 1
        http = m["confsvc_http_request_seconds"]
        assert value(http, "confsvc_http_request_seconds_count", operation="kickConferencecall",
                     method="DELETE", status="200") == 1  # fmt: skip
        assert value(m["confsvc_join_seconds"], "confsvc_join_seconds_count") == 2
        # StasisStart to joined: well under the 2.5 s bucket on a healthy run.
        assert value(m["confsvc_join_seconds"], "confsvc_join_seconds_bucket", le="5.0") == 2
        assert value(m["confsvc_events"], "confsvc_events_total",
                     type="conferencecall_joined") == 2  # fmt: skip
        assert value(m["confsvc_conferencecalls"], "confsvc_conferencecalls",
                     status="joined") == 0  # fmt: skip
        assert value(m["confsvc_ari_connects"], "confsvc_ari_connects_total") == 1
        assert value(m["confsvc_ari_connected"], "confsvc_ari_connected") == 1
        assert value(m["confsvc_ari_event_lag_seconds"], "confsvc_ari_event_lag_seconds_count") > 0
        ari = m["confsvc_ari_request_seconds"]
        endpoints = {s.labels["endpoint"] for s in ari}
        assert "/bridges/{id}/addChannel" in endpoints, endpoints
        assert value(ari, "confsvc_ari_request_seconds_count", method="POST",
                     endpoint="/bridges/{id}/addChannel") >= 2  # fmt: skip
        delivered = value(m["confsvc_deliveries"], "confsvc_deliveries_total",
                          kind="webhook", result="delivered")  # fmt: skip
        assert delivered >= 6
        assert value(m["confsvc_delivery_seconds"], "confsvc_delivery_seconds_count",
                     kind="webhook") >= delivered  # fmt: skip
        assert "confsvc_outbox_depth" in m and "confsvc_recordings_active" in m
        # One log stream: every line JSON; an access line per request, tokens never shown.
        text = ctl.log.read_text()
        records = [json.loads(line) for line in text.splitlines()]
        kick = [r for r in records if r.get("path") == "/v1/conferencecalls/{id}"
                and r.get("method") == "DELETE"]  # fmt: skip
        assert len(kick) == 1, kick
        assert kick[0]["status"] == 200 and kick[0]["tenant"] == "tenant-a"
        assert kick[0]["conferencecall_id"] == alice["id"] and kick[0]["request_id"]
        assert isinstance(kick[0]["ms"], float)
        assert "tenant-a-token" not in text and METRICS_TOKEN not in text
        # Bounded labels: no id of a call or a room in any label value.
        calls = await calls_of(ctl, conf["id"])
        ids = {conf["id"], *(c["id"] for c in calls), *(c["reference_id"] for c in calls)}
        for samples in m.values():
            for s in samples:
                assert not ids & set(s.labels.values()), s
