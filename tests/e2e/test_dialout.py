"""Dial-out end to end: the controller (a process) on the session's Asterisk calls out
through its [trunk] endpoint to a second Asterisk, the test carrier
(tests/support/carrier.py), which answers two numbers with a tone each (440 / 700 Hz),
answers one busy, lets one ring, refuses one with congestion. A real aiohttp receiver on
127.0.0.1 is the notify_url.

"They hear each other" is proved on the carrier's side: each answered carrier call records
what it *receives* (MixMonitor r(), i.e. what that callee hears from the room), and by FFT
the 440 Hz callee hears 700 Hz and not itself, and the other way round. The recordings'
names carry the caller number the carrier saw (the request's caller_id)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.audio import ABSENT, HEARD, tone_share
from tests.support.carrier import (
    ANSWER_440,
    ANSWER_700,
    BUSY,
    CONGESTION,
    RING_FOREVER,
    Carrier,
    carrier_env,
)
from tests.support.controller import ApiError, Controller, running_controller
from tests.support.events import Receiver
from tests.support.runtime import Runtime, started

SECRET = "dialout-secret"
CALLER_ID = "+6560000000"
SETTINGS = {
    "CONFSVC_DIALOUT_ALLOW": "tenant-a:+1555|+65,tenant-b:+1555",
    "CONFSVC_DIALOUT_TENANT_MAX_CALLS": "tenant-b:1",
    "CONFSVC_CALLER_IDS": f"tenant-a:{CALLER_ID}|+6560000009",
    "CONFSVC_WEBHOOK_SECRETS": f"tenant-a:{SECRET},tenant-b:{SECRET}",
    "CONFSVC_WEBHOOK_BACKOFF_BASE": "0.2",
    "CONFSVC_WEBHOOK_BACKOFF_CAP": "1",
}


@pytest.fixture(scope="module")
def carrier(runtime: Runtime) -> Iterator[Carrier]:
    """The carrier Asterisk, started after (and beside) the session's; stopped by pid."""
    with started(Carrier(env=carrier_env()), "the test carrier") as c:
        yield c


@pytest.fixture
async def ctl(runtime: Runtime, carrier: Carrier, tmp_path: Path) -> AsyncIterator[Controller]:
    async with running_controller(runtime, tmp_path / "controller", **SETTINGS) as c:
        yield c


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


async def wait_call(ctl: Controller, txn: str, pred: Any, timeout: float = 15) -> dict[str, Any]:
    return await ctl.wait_for(f"/v1/calls/{txn}", pred, timeout=timeout)  # type: ignore[no-any-return]


def reports(receiver: Receiver) -> list[dict[str, str]]:
    return [r.form for r in receiver.requests("/notify")]


async def wait_carrier_idle(carrier: Carrier, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while carrier.active_calls():
        if time.monotonic() > deadline:
            raise AssertionError(carrier.cli("core show channels"))
        await asyncio.sleep(0.2)


async def test_one_request_dials_five_numbers_into_one_room(
    ctl: Controller, carrier: Carrier, receiver: Receiver
) -> None:
    dests = [ANSWER_440, BUSY, RING_FOREVER, ANSWER_700, CONGESTION]
    before = carrier.calls_processed()
    started = time.monotonic()
    body = {
        "dest": dests,
        "room": "dialout1",
        "caller_id": CALLER_ID,
        "tag": "order-42",
        "notify_url": f"{receiver.url}/notify",
        "timeout": 4,
    }
    placed = await ctl.request("POST", "/v1/calls", json=body, expect=201)
    assert placed["status"] == "success_ok" and placed["room"] == "dialout1"
    txns = placed["txn_refs"]
    assert len(txns) == 5 and len(set(txns)) == 5
    conf_id = placed["conference_id"]
    by_dest = dict(zip(dests, txns, strict=True))
    for dest, txn in by_dest.items():  # txn_refs are in destination order
        call = await ctl.request("GET", f"/v1/calls/{txn}", expect=200)
        assert (call["dest"], call["conference_id"], call["tag"]) == (dest, conf_id, "order-42")

    # Both answered calls are in the room as conferencecalls (reference = the txn_ref).
    for dest in (ANSWER_440, ANSWER_700):
        call = await wait_call(ctl, by_dest[dest], lambda b: b["conferencecall_id"] is not None)
        assert call["status"] == "answered" and call["tm_answer"]
        member = await ctl.wait_for(
            f"/v1/conferencecalls/{call['conferencecall_id']}", lambda b: b["status"] == "joined"
        )
        assert member["reference_type"] == "call" and member["reference_id"] == by_dest[dest]
        assert member["caller"]["number"] == dest
    conf = await ctl.request("GET", f"/v1/conferences/{conf_id}", expect=200)
    assert len(conf["conferencecall_ids"]) == 2 and conf["max_participants"] == 8

    # Busy and congestion end at once; the ringing one after its 4 s.
    await receiver.wait(lambda: len(reports(receiver)) >= 3, timeout=15)
    assert time.monotonic() - started >= 4.0
    await asyncio.sleep(3)  # the two callees hear each other meanwhile
    assert carrier.calls_processed() - before == 5  # one INVITE per number
    await ctl.request("DELETE", f"/v1/conferences/{conf_id}", expect=200)
    await receiver.wait(lambda: len(reports(receiver)) >= 5, timeout=15)
    await asyncio.sleep(1)  # nothing more comes
    got = reports(receiver)
    assert sorted(r["txn_ref"] for r in got) == sorted(txns)  # exactly one per call
    expected = {
        ANSWER_440: "answered",
        ANSWER_700: "answered",
        BUSY: "busy",
        RING_FOREVER: "unanswered",
        CONGESTION: "failed",
    }
    for r in got:
        dest = r["dest"]
        assert r["txn_ref"] == by_dest[dest], r
        assert r["call_status_dest"] == expected[dest], r
        assert (r["tag"], r["call_state"], r["room"]) == ("order-42", "ended", "dialout1")
        assert len(r["date"]) == 19  # YYYY-MM-DD HH:mm:SS (GMT+8)
        answered = expected[dest] == "answered"
        assert r["duration"] == ("1" if answered else "0"), r
        assert (int(r["duration_ms"]) > 2000) is answered, r
    for req in receiver.requests("/notify"):
        assert req.method == "POST" and req.signed_by(SECRET)

    for dest, txn in by_dest.items():
        call = await ctl.request("GET", f"/v1/calls/{txn}", expect=200)
        assert (call["status"], call["call_status_dest"]) == ("ended", expected[dest]), call
    assert (await ctl.request("GET", f"/v1/calls/{by_dest[BUSY]}"))["hangup_cause"] == 17
    events = await ctl.request("GET", f"/v1/events?conference_id={conf_id}&page_size=100")
    ended = [e for e in events["result"] if e["type"] == "call_ended"]
    assert sorted(e["data"]["txn_ref"] for e in ended) == sorted(txns)

    # What each answered callee heard (the carrier's recording of what it received).
    await wait_carrier_idle(carrier)
    await asyncio.sleep(0.5)  # MixMonitor closes its files as the channels go
    heard_440 = carrier.heard(ANSWER_440, CALLER_ID)
    heard_700 = carrier.heard(ANSWER_700, CALLER_ID)
    assert heard_440.exists() and heard_700.exists(), list(carrier.recordings.iterdir())
    assert tone_share(heard_440, 700) > HEARD, "the 440 Hz callee did not hear 700 Hz"
    assert tone_share(heard_440, 440) < ABSENT, "the 440 Hz callee heard itself"
    assert tone_share(heard_700, 440) > HEARD, "the 700 Hz callee did not hear 440 Hz"
    assert tone_share(heard_700, 700) < ABSENT, "the 700 Hz callee heard itself"


async def test_bad_requests_get_the_seeds_codes_and_dial_nobody(
    ctl: Controller, carrier: Carrier, receiver: Receiver
) -> None:
    conf = await ctl.request(
        "POST", "/v1/conferences", json={"type": "conference", "room": "strict"}, expect=201
    )
    calls = f"/v1/conferences/{conf['id']}/calls"
    before = carrier.calls_processed()
    bad: list[tuple[dict[str, Any], int, str]] = [
        ({}, 422, "error_dest_param_missing"),
        ({"dest": ["15550100440"]}, 422, "error_dest_invalid"),
        ({"dest": [ANSWER_440] * 2}, 422, "error_dest_invalid"),
        ({"dest": [f"+1555010{i:04}" for i in range(9)]}, 422, "error_dest_invalid"),
        ({"dest": [ANSWER_440], "room": "no way"}, 422, "error_invalid_room"),
        ({"dest": [ANSWER_440], "tag": "x" * 257}, 422, "error_tag_invalid_length"),
        ({"dest": [ANSWER_440], "notify_url": "mailto:a@b"}, 422, "error_invalid_notify_url"),
        ({"dest": ["+441234567890"]}, 403, "error_dest_not_supported"),
        ({"dest": [ANSWER_440, "+861234567890"]}, 403, "error_dest_not_supported"),
    ]
    for body, status, code in bad:
        for path in ("/v1/calls", calls):
            with pytest.raises(ApiError) as info:
                await ctl.request("POST", path, json=body, expect=201)
            assert (info.value.status, info.value.body["error"]) == (status, code), (path, body)
            assert info.value.body["message"]

    # tenant-b may have one call at a time: the second request is refused.
    first = await ctl.request(
        "POST",
        "/v1/calls",
        json={"dest": [RING_FOREVER], "timeout": 3, "notify_url": f"{receiver.url}/notify"},
        token="tenant-b-token",
        expect=201,
    )
    refused = await ctl.request("POST", "/v1/calls", json={"dest": [BUSY]}, token="tenant-b-token")
    assert refused["error"] == "error_concurrent_call_limit_reached"
    (txn,) = first["txn_refs"]
    gone = await ctl.request("GET", f"/v1/calls/{txn}")  # tenant-a cannot see it
    assert gone["error"] == "call_not_found"
    mine = await ctl.request("GET", f"/v1/calls/{txn}", token="tenant-b-token", expect=200)
    assert mine["dest"] == RING_FOREVER
    await receiver.wait(lambda: len(reports(receiver)) == 1, timeout=15)
    assert reports(receiver)[0]["call_status_dest"] == "unanswered"
    assert carrier.calls_processed() - before == 1  # only the allowed call reached it
    # Its room (made by the request) ended with its only call.
    await ctl.wait_for(
        f"/v1/conferences/{first['conference_id']}",
        lambda b: b["status"] == "terminated",
        token="tenant-b-token",
    )


async def test_a_restart_mid_ring_still_reports_the_call(
    ctl: Controller, carrier: Carrier, receiver: Receiver
) -> None:
    body = {"dest": [RING_FOREVER, ANSWER_440], "timeout": 6, "caller_id": CALLER_ID,
            "notify_url": f"{receiver.url}/notify"}  # fmt: skip
    placed = await ctl.request("POST", "/v1/calls", json=body, expect=201)
    ringing, answered = placed["txn_refs"]
    await wait_call(ctl, ringing, lambda b: b["status"] == "ringing")
    await wait_call(ctl, answered, lambda b: b["conferencecall_id"] is not None)
    await ctl.kill9()
    await asyncio.sleep(1)
    await ctl.start()
    ended = await wait_call(ctl, ringing, lambda b: b["status"] == "ended", timeout=15)
    assert ended["call_status_dest"] == "unanswered"
    up = await ctl.request("GET", f"/v1/calls/{answered}", expect=200)
    assert up["status"] == "answered"  # still in the room after the restart
    await ctl.request("DELETE", f"/v1/conferences/{placed['conference_id']}", expect=200)
    await wait_call(ctl, answered, lambda b: b["status"] == "ended")
    await receiver.wait(lambda: len(reports(receiver)) == 2, timeout=15)
    results = {r["txn_ref"]: r["call_status_dest"] for r in reports(receiver)}
    assert results == {ringing: "unanswered", answered: "answered"}
    await wait_carrier_idle(carrier)
