"""The conference core against a real Asterisk and real baresip phones; audio by FFT."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.support.audio import ABSENT, HEARD, band_energy, read_wav
from tests.support.controller import Controller
from tests.support.phone import Phone
from tests.support.room import calls_of, create_room, phones, wait_joined
from tests.support.runtime import Runtime

# The conference core on both stores (issue 14).
pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgres"])

TONES = [440.0, 700.0, 1150.0]


def share(phone: Phone, freq: float, start: float = 0.5, end: float | None = None) -> float:
    """Band energy of freq in what the phone heard between start and end seconds."""
    data, rate = read_wav(phone.heard)
    seg = data[int(start * rate) : None if end is None else int(end * rate)]
    return band_energy(seg, rate, freq)


async def hang_up_all(ps: list[Phone]) -> None:
    for p in ps:
        if not p.has_event("CALL_CLOSED"):
            await p.hangup()
    for p in ps:
        await p.wait_event("CALL_CLOSED", timeout=5)
    await asyncio.sleep(0.3)  # the WAV writer finalizes on call end


async def test_three_callers_hear_each_other_not_themselves(
    runtime: Runtime, controller: Controller
) -> None:
    conf = await create_room(controller, "trio")
    async with phones(runtime, TONES, "trio") as ps:
        for p in ps:
            await p.dial("trio")
        for p in ps:
            await p.wait_event("CALL_ESTABLISHED")
        await wait_joined(controller, conf["id"], 3)
        assert "trio" in runtime.cli("bridge show all")
        got = await controller.request("GET", f"/v1/conferences/{conf['id']}")
        assert got["status"] == "progressing" and len(got["conferencecall_ids"]) == 3
        await asyncio.sleep(3)
        await hang_up_all(ps)
        for i, p in enumerate(ps):
            for j, tone in enumerate(TONES):
                s = share(p, tone)
                if i == j:
                    assert s < ABSENT, f"{p.name} heard itself ({tone} Hz: {s:.3f})"
                else:
                    assert s > HEARD, f"{p.name} did not hear {tone} Hz ({s:.3f})"
        calls = await calls_of(controller, conf["id"])
        await controller.wait_for(
            f"/v1/conferencecalls?conference_id={conf['id']}",
            lambda b: all(c["status"] == "leaved" for c in b["result"]),
        )
        assert len(calls) == 3


async def test_kick_ends_the_call_and_its_audio(runtime: Runtime, controller: Controller) -> None:
    conf = await create_room(controller, "kickme")
    async with phones(runtime, TONES, "kick") as ps:
        established = {}
        for p in ps:
            await p.dial("kickme")
        for p in ps:
            await p.wait_event("CALL_ESTABLISHED")
            established[p.name] = time.monotonic()
        await wait_joined(controller, conf["id"], 3)
        await asyncio.sleep(1.5)
        calls = await calls_of(controller, conf["id"])
        victim = ps[2]
        # The call whose caller is carol (the third phone).
        call = next(c for c in calls if "carol" in (c["caller"]["number"] + c["caller"]["name"]))
        kicked_at = time.monotonic()
        body = await controller.request("DELETE", f"/v1/conferencecalls/{call['id']}", expect=200)
        assert body["status"] == "leaving"
        await victim.wait_event("CALL_CLOSED", timeout=1.0)
        await controller.wait_for(
            f"/v1/conferencecalls/{call['id']}", lambda b: b["status"] == "leaved"
        )
        again = await controller.request("DELETE", f"/v1/conferencecalls/{call['id']}")
        assert again["error"] == "conferencecall_invalid_state"
        await asyncio.sleep(2.5)
        await hang_up_all(ps[:2])
        for p in ps[:2]:
            after = kicked_at - established[p.name] + 0.5
            assert share(p, TONES[2], start=after) < ABSENT, f"{p.name} still hears the kicked"
        assert share(ps[0], TONES[1], start=kicked_at - established[ps[0].name] + 0.5) > HEARD


async def test_connect_type_ends_when_one_leaves(runtime: Runtime, controller: Controller) -> None:
    conf = await create_room(controller, "pair", type="connect")
    async with phones(runtime, TONES[:2], "pair") as ps:
        for p in ps:
            await p.dial("pair")
        await wait_joined(controller, conf["id"], 2)
        await ps[0].hangup()
        await ps[1].wait_event("CALL_CLOSED", timeout=5)
        await controller.wait_for(
            f"/v1/conferences/{conf['id']}", lambda b: b["status"] == "terminated"
        )


async def test_timeout_terminates_and_kicks(runtime: Runtime, controller: Controller) -> None:
    conf = await create_room(controller, "brief", timeout=4)
    async with phones(runtime, TONES[:1], "brief") as ps:
        await ps[0].dial("brief")
        await wait_joined(controller, conf["id"], 1)
        await ps[0].wait_event("CALL_CLOSED", timeout=10)
        body = await controller.wait_for(
            f"/v1/conferences/{conf['id']}", lambda b: b["status"] == "terminated"
        )
        assert body["tm_delete"] is not None


async def test_max_participants_refuses_the_extra_caller(
    runtime: Runtime, controller: Controller
) -> None:
    conf = await create_room(controller, "small", max_participants=2)
    async with phones(runtime, TONES, "small") as ps:
        for p in ps[:2]:
            await p.dial("small")
        await wait_joined(controller, conf["id"], 2)
        await ps[2].dial("small")
        await ps[2].wait_event("CALL_CLOSED", timeout=15)
        calls = await calls_of(controller, conf["id"])
        assert len(calls) == 2
        assert not ps[0].has_event("CALL_CLOSED")


async def test_unknown_room_is_refused(runtime: Runtime, controller: Controller) -> None:
    async with phones(runtime, TONES[:1], "nowhere") as ps:
        await ps[0].dial("nosuchroom")
        closed = await ps[0].wait_event("CALL_CLOSED", timeout=10)
        assert not ps[0].has_event("CALL_ESTABLISHED")
        assert "404" in str(closed.get("param", "")), closed
