"""pre_actions / post_actions against a real Asterisk and real baresip phones, proved on
what each phone heard: the joiner hears its greeting (espeak-ng speech, then the 700 Hz
stock beep) before the room and not the room meanwhile; the callers inside never hear it;
a kicked caller hears `goodbye` before the BYE; a caller who hangs up hears nothing more
and nothing fails; an unreachable media URL is skipped with an event and the caller
still joins; bad actions are refused with 422 naming the field."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from tests.e2e.test_conference_audio import hang_up_all
from tests.e2e.test_participant_control import BEEP, call_of, dial, peak_share, segment, share
from tests.support.audio import ABSENT, HEARD, rms
from tests.support.controller import Controller
from tests.support.phone import free_port
from tests.support.room import calls_of, create_room, phones, wait_joined
from tests.support.runtime import Runtime

# The phones' tones: high, where speech and the beep have little energy.
TONE_A, TONE_B = 2900.0, 2300.0
GREETING = {"type": "talk", "text": "Welcome to the board meeting", "language": "en-US"}


async def joined_at(ctl: Controller, conf_id: str, account: str, timeout: float = 15) -> float:
    """Waits until the account's call is joined; returns time.monotonic() then."""

    def inside(body: dict[str, Any]) -> bool:
        mine = [c for c in body["result"] if account in c["caller"]["number"]]
        return bool(mine) and mine[0]["status"] == "joined"

    await ctl.wait_for(f"/v1/conferencecalls?conference_id={conf_id}", inside, timeout=timeout)
    return time.monotonic()


def log_lines(ctl: Controller) -> list[dict[str, Any]]:
    """The controller's JSON log lines."""
    out = []
    for line in ctl.log.read_text().splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


async def events_of(ctl: Controller, conf_id: str, kind: str) -> list[dict[str, Any]]:
    body = await ctl.request("GET", f"/v1/events?conference_id={conf_id}&page_size=100")
    return [e for e in body["result"] if e["type"] == kind]


async def test_the_joiner_hears_its_greeting_and_beep_before_the_room(
    runtime: Runtime, controller: Controller
) -> None:
    conf = await create_room(controller, "greet", pre_actions=[GREETING, {"type": "beep"}])
    assert conf["pre_actions"][1] == {"type": "beep", "option": {}}
    cid = conf["id"]
    async with phones(runtime, [TONE_A, TONE_B], "greet") as (a, b):
        t_a = await dial(a, "greet")
        calls = await controller.wait_for(
            f"/v1/conferencecalls?conference_id={cid}", lambda body: bool(body["result"])
        )
        assert calls["result"][0]["status"] == "joining"  # greeting: not in the room yet
        await joined_at(controller, cid, "alice")
        await asyncio.sleep(1.0)
        t_b = await dial(b, "greet")
        j_b = await joined_at(controller, cid, "bob")
        await wait_joined(controller, cid, 2)
        await asyncio.sleep(2.5)
        await hang_up_all([a, b])
    greeting_end = j_b - t_b  # seconds into bob's call when he entered the room
    assert greeting_end > 1.5, f"bob joined {greeting_end:.2f} s in: no greeting first?"
    words, _ = segment(b, 0.2, greeting_end - 0.9)
    assert rms(words) > 200, f"bob heard no greeting (rms {rms(words):.0f})"
    beep = peak_share(b, BEEP, 0.2, greeting_end + 0.2)
    assert beep > HEARD, f"bob heard no beep in his greeting ({beep:.3f})"
    room = share(b, TONE_A, 0.2, greeting_end - 0.3)
    assert room < ABSENT, f"bob heard the room during his greeting ({room:.3f})"
    after = share(b, TONE_A, greeting_end + 0.5, greeting_end + 2.3)
    assert after > HEARD, f"bob did not hear alice once in the room ({after:.3f})"
    # Alice, inside, heard nothing of bob's greeting (alone in the room: silence).
    during, _ = segment(a, t_b - t_a + 0.2, j_b - t_a - 0.3)
    assert rms(during) < 100, f"alice heard bob's greeting (rms {rms(during):.0f})"
    assert peak_share(a, BEEP, t_b - t_a + 0.2, j_b - t_a - 0.1) < ABSENT, "alice: bob's beep"
    assert share(a, TONE_B, j_b - t_a + 0.5, j_b - t_a + 2.3) > HEARD, "alice did not hear bob"


async def test_a_kicked_caller_hears_goodbye_before_the_bye_one_who_hangs_up_nothing(
    runtime: Runtime, controller: Controller
) -> None:
    post = [{"type": "play", "option": {"media": "sound:goodbye"}}]
    conf = await create_room(controller, "byes", post_actions=post)
    cid = conf["id"]
    async with phones(runtime, [TONE_A, TONE_B], "byes") as (a, b):
        t_a = await dial(a, "byes")
        await dial(b, "byes")
        await wait_joined(controller, cid, 2)
        await asyncio.sleep(1.5)
        alice = call_of(await calls_of(controller, cid), "alice")
        t_kick = time.monotonic()
        await controller.request("DELETE", f"/v1/conferencecalls/{alice['id']}", expect=200)
        await a.wait_event("CALL_CLOSED", timeout=10)
        t_bye = time.monotonic()
        await b.hangup()
        bob = call_of(await calls_of(controller, cid), "bob")
        await controller.wait_for(
            f"/v1/conferencecalls/{bob['id']}", lambda c: c["status"] == "leaved"
        )
        await asyncio.sleep(0.5)
    assert t_bye - t_kick > 0.4, f"BYE {t_bye - t_kick:.2f} s after the kick: no goodbye first"
    bye, _ = segment(a, t_kick - t_a + 0.1, t_bye - t_a - 0.1)
    assert rms(bye) > 200, f"alice heard no goodbye (rms {rms(bye):.0f})"
    room = share(a, TONE_B, t_kick - t_a + 0.3, t_bye - t_a - 0.1)
    assert room < ABSENT, f"alice still heard the room while told goodbye ({room:.3f})"
    assert not await events_of(controller, cid, "conferencecall_action_failed")
    posts = [e.get("call") for e in log_lines(controller) if e.get("event") == "post actions"]
    assert posts == [alice["id"]], f"post actions ran for {posts}, not only the kicked alice"


async def test_an_unreachable_url_is_skipped_with_an_event_and_bad_actions_get_422(
    runtime: Runtime, controller: Controller
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/nothing.wav"  # nobody listens
    pre = [{"type": "play", "media": nowhere}, {"type": "beep"}]
    conf = await create_room(controller, "skips", pre_actions=pre)
    cid = conf["id"]
    async with phones(runtime, [TONE_A], "skips") as (a,):
        t_a = await dial(a, "skips")
        j_a = await joined_at(controller, cid, "alice")
        await asyncio.sleep(0.5)
        await hang_up_all([a])
    (failed,) = await events_of(controller, cid, "conferencecall_action_failed")
    assert failed["data"]["phase"] == "pre" and failed["data"]["index"] == 0, failed
    assert failed["data"]["action"]["option"]["media"] == nowhere
    assert peak_share(a, BEEP, 0.1, j_a - t_a + 0.2) > HEARD, "the beep after it was not heard"
    bad = {"type": "conference", "pre_actions": [{"type": "pause", "seconds": 120}]}
    err = await controller.request("POST", "/v1/conferences", json=bad, expect=422)
    assert err["field"] == "pre_actions[0].seconds", err
    too_many = {"type": "conference", "post_actions": [{"type": "beep"}] * 11}
    err = await controller.request("POST", "/v1/conferences", json=too_many, expect=422)
    assert err["field"] == "post_actions", err
