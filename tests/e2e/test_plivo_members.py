"""Plivo's per-member <Conference> options against a real Asterisk and real baresip
phones (issue 19): a member with start_conference_on_enter=false waits with music until
one with true arrives (FFT), whose end_conference_on_exit ends the room when it leaves; the
action URL gets the seed's parameters when a member
leaves by `*`, and relay_dtmf relays every digit except those of digits_match."""

from __future__ import annotations

import asyncio
import time

from tests.e2e.test_conference_audio import hang_up_all
from tests.e2e.test_moderated_rooms import enter
from tests.e2e.test_participant_control import call_of, dial, segment, share
from tests.support.audio import ABSENT, HEARD, rms
from tests.support.controller import Controller
from tests.support.events import Receiver
from tests.support.room import calls_of, create_room, phones, wait_joined
from tests.support.runtime import Runtime

# High tones: music on hold has little energy up there.
WAITER, STARTER = 2300.0, 2900.0


async def test_a_waiting_member_hears_music_until_a_starter_joins(
    runtime: Runtime, controller: Controller
) -> None:
    conf = await create_room(controller, "plivowait", pin="1111", start_conference_on_enter=False)
    assert conf["start_conference_on_enter"] is False
    cid = conf["id"]
    async with phones(runtime, [WAITER, STARTER], "plivowait") as (a, b):
        t_a = await enter(controller, cid, a, "plivowait", "1111")
        alice = call_of(await calls_of(controller, cid), "alice")
        assert alice["muted"] and alice["waiting_for"] == "moderator", alice
        # bob dials; while he types his PIN (not in the room yet) he is made a starter
        t_b = await dial(b, "plivowait")
        body = await controller.wait_for(
            f"/v1/conferencecalls?conference_id={cid}",
            lambda x: any("bob" in c["caller"]["number"] for c in x["result"]),
        )
        bob = call_of(body["result"], "bob")
        assert bob["waiting_for"] == "pin"
        set_ = await controller.request(
            "PATCH",
            f"/v1/conferencecalls/{bob['id']}",
            json={"start_conference_on_enter": True, "end_conference_on_exit": True},
            expect=200,
        )
        assert set_["start_conference_on_enter"] is True and set_["end_conference_on_exit"]
        w_start = time.monotonic()
        await asyncio.sleep(2.5)  # alice still waits: music, nobody heard
        w_end = time.monotonic()
        await b.send_dtmf("1111#")
        await wait_joined(controller, cid, 2)
        calls = await calls_of(controller, cid)
        assert not any(c["muted"] or c["waiting_for"] for c in calls), calls
        t_in = time.monotonic()
        await asyncio.sleep(2.5)
        late = await controller.request(
            "PATCH", f"/v1/conferencecalls/{bob['id']}", json={"muted": True}
        )
        assert late["error"] == "conferencecall_invalid_state", late  # joined: too late
        # bob (end_conference_on_exit) leaves: the conference ends, alice is hung up
        await b.hangup()
        await a.wait_event("CALL_CLOSED", timeout=8)
        await controller.wait_for(f"/v1/conferences/{cid}", lambda c: c["status"] == "terminated")
    music, _ = segment(a, w_start - t_a + 0.5, w_end - t_a)
    assert rms(music) > 200, f"no music while waiting (rms {rms(music):.0f})"
    assert share(a, STARTER, w_start - t_a + 0.5, w_end - t_a) < ABSENT
    # The starter in: the two hear each other, the music is gone.
    assert share(a, STARTER, t_in - t_a + 0.6, t_in - t_a + 2.3) > HEARD, "alice missed bob"
    assert share(b, WAITER, t_in - t_b + 0.6, t_in - t_b + 2.3) > HEARD, "bob missed alice"


async def test_relay_except_digits_match_and_the_action_url_on_star(
    runtime: Runtime, controller: Controller
) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        conf = await create_room(
            controller,
            "plivokeys",
            hangup_on_star=True,
            digits_match="123",
            relay_dtmf=True,
            record=True,
            action=f"{receiver.url}/left",
        )
        cid = conf["id"]
        async with phones(runtime, [440.0, 1150.0], "plivokeys") as (a, b):
            await dial(a, "plivokeys")
            await dial(b, "plivokeys")
            await wait_joined(controller, cid, 2)
            alice = call_of(await calls_of(controller, cid), "alice")
            await a.send_dtmf("5123")
            await b.wait_event("CALL_DTMF_START", timeout=5)
            await asyncio.sleep(1.5)
            relayed = [e["param"] for e in b.events if e.get("type") == "CALL_DTMF_START"]
            assert relayed == ["5"], relayed  # 123 matched: not relayed
            stream = await controller.request("GET", f"/v1/events?conference_id={cid}")
            digits = [e["data"] for e in stream["result"] if e["type"] == "conferencecall_digits"]
            assert [d["digits"] for d in digits] == ["123"]
            await a.send_dtmf("*")
            await a.wait_event("CALL_CLOSED", timeout=5)
            await receiver.wait(lambda: receiver.requests("/left"), timeout=15)
            assert not b.has_event("CALL_CLOSED")
            await hang_up_all([b])
        got = await controller.request("GET", f"/v1/conferences/{cid}")
        (left, *_) = receiver.requests("/left")
        assert left.method == "POST"
        form = left.form
        assert set(form) == {
            "ConferenceName",
            "ConferenceUUID",
            "ConferenceMemberID",
            "RecordUrl",
            "RecordingID",
        }, form
        assert (form["ConferenceName"], form["ConferenceUUID"]) == ("plivokeys", cid)
        assert form["ConferenceMemberID"] == alice["id"]
        assert form["RecordingID"] in got["recording_ids"], (form, got)
        assert form["RecordUrl"].endswith(f"/v1/recordings/{form['RecordingID']}/file")
    finally:
        await receiver.stop()
