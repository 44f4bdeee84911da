"""Two controllers, one PostgreSQL, one Asterisk (issue 14): the owner of the ARI
application is kill -9'd with callers in a room; the standby takes the lock, connects,
reconciles, and a kick through its API works within 5 s; the callers keep hearing each
other (FFT) through it all. Before that, the standby forwards commands to the owner (same
answers and codes) and its WebSocket clients get the events the owner commits."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_conference_audio import TONES, hang_up_all, share
from tests.support.audio import HEARD
from tests.support.controller import Controller
from tests.support.events import Receiver, WsClient
from tests.support.output_gate import gate_report
from tests.support.room import calls_of, create_room, dial_in, phones, wait_joined
from tests.support.runtime import Runtime

pytestmark = pytest.mark.parametrize("backend", ["postgres"])
TAKEOVER_SECONDS = 5.0


@contextlib.asynccontextmanager
async def pair(
    runtime: Runtime, workdir: Path, store_settings: dict[str, str]
) -> AsyncIterator[tuple[Controller, Controller]]:
    """Owner A (the runtime's HTTP port) and standby B (port + 2) on one database; both
    stopped afterwards, and both logs pass the traceback gate."""
    second_port = str(int(runtime.s("HTTP_PORT")) + 2)
    a = Controller(runtime, workdir / "a", **store_settings)
    b = Controller(runtime, workdir / "b", CONFSVC_HTTP_PORT=second_port, **store_settings)
    try:
        await a.start()
        await b.start(standby=True)
        yield a, b
    finally:
        await asyncio.gather(a.stop(), b.stop())
    reports = [r for r in (gate_report(a.log), gate_report(b.log)) if r]
    if reports:
        pytest.fail("\n".join(reports), pytrace=False)


def carols(calls: list[dict[str, Any]]) -> dict[str, Any]:
    return next(c for c in calls if "carol" in (c["caller"]["number"] + c["caller"]["name"]))


async def kick_within(ctl: Controller, call_id: str, deadline: float) -> dict[str, Any]:
    """DELETE until the new owner answers 200 (503 while nobody owns ARI)."""
    while True:
        status, body = await ctl.raw("DELETE", f"/v1/conferencecalls/{call_id}")
        if status == 200:
            return body  # type: ignore[no-any-return]
        assert status == 503 and body["error"] == "asterisk_unavailable", (status, body)
        assert time.monotonic() < deadline, "no kick within the takeover time"
        await asyncio.sleep(0.2)


async def test_kill9_of_the_owner_the_standby_takes_over(
    runtime: Runtime, tmp_path: Path, store_settings: dict[str, str]
) -> None:
    async with pair(runtime, tmp_path, store_settings) as (a, b):
        assert (await b.request("GET", "/health"))["role"] == "standby"
        ws = await WsClient(b.base, "tenant-a-token").open("conference:*")
        receiver = Receiver()
        await receiver.start()
        try:
            hook = {"url": f"{receiver.url}/hook"}
            await b.request("POST", "/v1/webhooks", json=hook, expect=201)
            conf = await create_room(b, "failover")  # forwarded to the owner: 201
            again = {"type": "conference", "room": "failover"}
            refused = await b.request("POST", "/v1/conferences", json=again, expect=409)
            assert refused["error"] == "room_in_use"
            async with phones(runtime, TONES, "failover") as ps:
                start = await dial_in(ps, "failover")
                await wait_joined(b, conf["id"], 3)
                # The standby's WebSocket client hears what the owner committed.
                await ws.wait_for_type("conferencecall_joined", conf["id"])
                await asyncio.sleep(1.0)
                call = carols(await calls_of(b, conf["id"]))

                killed = time.monotonic()
                await a.kill9()
                body = await kick_within(b, call["id"], killed + TAKEOVER_SECONDS)
                took = time.monotonic() - killed
                assert body["status"] == "leaving"
                await ps[2].wait_event("CALL_CLOSED", timeout=2.0)
                health = await b.request("GET", "/health")
                assert health["role"] == "owner" and health["ari_connected"]
                await b.wait_for(
                    f"/v1/conferencecalls/{call['id']}", lambda x: x["status"] == "leaved"
                )
                # A comes back as the standby: its API answers as the owner does.
                await a.start(standby=True)
                again_kick = await a.request("DELETE", f"/v1/conferencecalls/{call['id']}")
                assert again_kick["error"] == "conferencecall_invalid_state"
                await asyncio.sleep(2.0)
                await hang_up_all(ps[:2])
            # alice kept hearing bob across the failover, and bob alice.
            after = killed - start + 0.5
            assert share(ps[0], TONES[1], start=after) > HEARD
            assert share(ps[1], TONES[0], start=after) > HEARD
            calls = await b.wait_for(
                f"/v1/conferencecalls?conference_id={conf['id']}",
                lambda x: all(c["status"] == "leaved" for c in x["result"]),
            )
            assert len(calls["result"]) == 3  # no call counted twice
            events = await b.request("GET", f"/v1/events?conference_id={conf['id']}&page_size=100")
            ids = [e["id"] for e in events["result"]]
            assert len(ids) == len(set(ids))
            # Every stored event reaches the webhook (the new owner delivers what the old
            # one had not), and nothing else: no event under a second id.
            await receiver.wait(
                lambda: {e["id"] for e in receiver.events("/hook", conf["id"])} == set(ids)
            )
            print(f"takeover: kick answered {took:.2f} s after the kill -9")
        finally:
            await ws.close()
            await receiver.stop()
