"""Moderated rooms against a real Asterisk and real baresip phones: PIN entry by DTMF
(RFC 4733 from baresip -> ChannelDtmfReceived), moderators, participants waiting with
music on hold until a moderator joins, end_on_moderator_exit."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.e2e.test_conference_audio import hang_up_all
from tests.e2e.test_participant_control import call_of, dial, segment, share
from tests.support.audio import ABSENT, HEARD, rms
from tests.support.controller import Controller
from tests.support.phone import Phone
from tests.support.room import calls_of, create_room, phones, wait_joined
from tests.support.runtime import Runtime

# High tones for the participants: music on hold has little energy up there.
P1, P2, MOD = 2300.0, 2900.0, 440.0


async def enter(ctl: Controller, conf_id: str, phone: Phone, room: str, pin: str) -> float:
    """Dial, type the PIN, wait until the caller is in the bridge; returns the time its
    audio started."""
    t = await dial(phone, room)
    await asyncio.sleep(0.3)
    await phone.send_dtmf(pin + "#")

    def inside(body: dict[str, Any]) -> bool:
        mine = [c for c in body["result"] if phone.account in c["caller"]["number"]]
        return bool(mine) and mine[0]["status"] == "joined"

    await ctl.wait_for(f"/v1/conferencecalls?conference_id={conf_id}", inside)
    return t


async def test_wrong_pin_three_times_hangs_up_right_pin_joins(
    runtime: Runtime, controller: Controller
) -> None:
    conf = await create_room(controller, "pinroom", pin="4321")
    assert conf["pin"] == "4321" and conf["moderator_pin"] == ""
    async with phones(runtime, [P1, P2], "pinroom") as (a, b):
        await dial(a, "pinroom")
        # The 200 OK may beat the store write (answer and save run together): wait for it.
        body = await controller.wait_for(
            f"/v1/conferencecalls?conference_id={conf['id']}", lambda b: bool(b["result"])
        )
        calls = body["result"]
        assert calls[0]["status"] == "joining" and calls[0]["waiting_for"] == "pin", calls
        await asyncio.sleep(1.0)
        for wrong in ("11", "22", "33"):
            await a.send_dtmf(wrong + "#")
            await asyncio.sleep(0.8)
        await a.wait_event("CALL_CLOSED", timeout=8)
        seg, _ = segment(a, 0.2, 1.0)
        assert rms(seg) > 200, "no PIN prompt heard"
        gone = call_of(await calls_of(controller, conf["id"]), "alice")
        await controller.wait_for(
            f"/v1/conferencecalls/{gone['id']}", lambda c: c["status"] == "leaved"
        )
        t_b = await enter(controller, conf["id"], b, "pinroom", "4321")
        bob = call_of(await calls_of(controller, conf["id"]), "bob")
        assert bob["role"] == "participant" and bob["waiting_for"] is None, bob
        assert time.monotonic() - t_b < 5
        got = await controller.request("GET", f"/v1/conferences/{conf['id']}")
        assert got["conferencecall_ids"] == [bob["id"]]
        await hang_up_all([b])


async def test_participants_wait_for_the_moderator_who_ends_the_room(
    runtime: Runtime, controller: Controller
) -> None:
    conf = await create_room(
        controller,
        "modroom",
        pin="1111",
        moderator_pin="9999",
        wait_for_moderator=True,
        end_on_moderator_exit=True,
    )
    cid = conf["id"]
    async with phones(runtime, [P1, P2, MOD], "modroom") as (p1, p2, mod):
        t1 = await enter(controller, cid, p1, "modroom", "1111")
        t2 = await enter(controller, cid, p2, "modroom", "1111")
        waiting = await calls_of(controller, cid)
        assert all(c["waiting_for"] == "moderator" and c["muted"] for c in waiting), waiting
        assert all(c["role"] == "participant" for c in waiting)
        w_start = time.monotonic()
        await asyncio.sleep(3.0)
        w_end = time.monotonic()
        t_m = await enter(controller, cid, mod, "modroom", "9999")
        await wait_joined(controller, cid, 3)
        calls = await calls_of(controller, cid)
        assert call_of(calls, "carol")["role"] == "moderator"
        assert not any(c["muted"] or c["waiting_for"] for c in calls), calls
        t_mod = time.monotonic()
        await asyncio.sleep(3.0)
        await mod.hangup()
        await p1.wait_event("CALL_CLOSED", timeout=5)
        await p2.wait_event("CALL_CLOSED", timeout=5)
        await controller.wait_for(f"/v1/conferences/{cid}", lambda c: c["status"] == "terminated")
        await asyncio.sleep(0.3)
    # While waiting: music (energy) but not the other participant.
    music, _ = segment(p1, w_start - t1 + 0.5, w_end - t1)
    assert rms(music) > 200, f"no music on hold while waiting (rms {rms(music):.0f})"
    assert share(p1, P2, w_start - t1 + 0.5, w_end - t1) < ABSENT, "p1 heard p2 while waiting"
    assert share(p2, P1, w_start - t2 + 0.5, w_end - t2) < ABSENT, "p2 heard p1 while waiting"
    # With the moderator in: everyone hears everyone.
    assert share(p1, P2, t_mod - t1 + 0.5, t_mod - t1 + 2.8) > HEARD, "p1 did not hear p2"
    assert share(p1, MOD, t_mod - t1 + 0.5, t_mod - t1 + 2.8) > HEARD, "p1 did not hear mod"
    assert share(p2, P1, t_mod - t2 + 0.5, t_mod - t2 + 2.8) > HEARD, "p2 did not hear p1"
    for tone in (P1, P2):
        assert share(mod, tone, t_mod - t_m + 0.5, t_mod - t_m + 2.8) > HEARD, f"mod: {tone}"
