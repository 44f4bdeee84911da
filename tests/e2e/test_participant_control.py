"""Member controls against a real Asterisk and real baresip phones, audio proved by FFT:
mute, deaf, play (beep and an http URL), the enter beep, DTMF (hangup_on_star,
digits_match, relay_dtmf), member_time_limit, stay_alone, floor events."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.e2e.test_conference_audio import hang_up_all
from tests.support.audio import ABSENT, HEARD, band_energy, read_wav, rms, write_tone
from tests.support.controller import Controller
from tests.support.phone import Phone, free_port
from tests.support.room import calls_of, create_room, phones, wait_joined
from tests.support.runtime import Runtime

TONES = [440.0, 1150.0, 1600.0]
BEEP = 700.0  # Asterisk's stock sound `beep` (beep.gsm: 0.44 s at 700 Hz, measured)
URL_TONE = 2100.0


def segment(phone: Phone, start: float, end: float | None = None) -> Any:
    """What the phone heard between start and end seconds of its call."""
    data, rate = read_wav(phone.heard)
    return data[int(max(0.0, start) * rate) : None if end is None else int(end * rate)], rate


def share(phone: Phone, freq: float, start: float, end: float | None = None) -> float:
    seg, rate = segment(phone, start, end)
    return band_energy(seg, rate, freq)


def peak_share(phone: Phone, freq: float, start: float, end: float, win: float = 0.25) -> float:
    """The highest share of freq in any `win` s window between start and end: a short
    sound (a beep) over a longer mix."""
    seg, rate = segment(phone, start, end)
    n, step = int(win * rate), int(0.05 * rate)
    return max(
        (band_energy(seg[i : i + n], rate, freq) for i in range(0, max(1, seg.size - n), step)),
        default=0.0,
    )


async def dial(phone: Phone, room: str) -> float:
    """Dial and wait for the call: the moment its audio starts (heard.wav's 0 s)."""
    await phone.dial(room)
    await phone.wait_event("CALL_ESTABLISHED")
    return time.monotonic()


def call_of(calls: list[dict[str, Any]], account: str) -> dict[str, Any]:
    return next(c for c in calls if account in c["caller"]["number"] + c["caller"]["name"])


async def test_muted_caller_is_not_heard_until_unmuted(
    runtime: Runtime, controller: Controller
) -> None:
    conf = await create_room(controller, "mutes")
    async with phones(runtime, TONES[:2], "mutes") as (a, b):
        t_a = await dial(a, "mutes")
        await dial(b, "mutes")
        await wait_joined(controller, conf["id"], 2)
        bob = call_of(await calls_of(controller, conf["id"]), "bob")
        await asyncio.sleep(1.5)
        t_mute = time.monotonic()
        muted = await controller.request(
            "POST", f"/v1/conferencecalls/{bob['id']}/mute", expect=200
        )
        assert muted["muted"] is True and muted["deaf"] is False
        await asyncio.sleep(2.0)
        t_unmute = time.monotonic()
        back = await controller.request(
            "DELETE", f"/v1/conferencecalls/{bob['id']}/mute", expect=200
        )
        assert back["muted"] is False
        await asyncio.sleep(2.0)
        await hang_up_all([a, b])
    before = share(a, TONES[1], t_mute - t_a - 1.0, t_mute - t_a)
    during = share(a, TONES[1], t_mute - t_a + 0.4, t_unmute - t_a)
    after = share(a, TONES[1], t_unmute - t_a + 0.4)
    assert before > HEARD, f"alice did not hear bob before the mute ({before:.3f})"
    assert during < ABSENT, f"alice heard muted bob ({during:.3f})"
    assert after > HEARD, f"alice did not hear bob after the unmute ({after:.3f})"
    # bob, muted, still heard alice all along
    assert share(b, TONES[0], 0.5) > HEARD


async def test_deaf_caller_hears_nothing_but_is_heard(
    runtime: Runtime, controller: Controller
) -> None:
    conf = await create_room(controller, "deafs")
    async with phones(runtime, TONES[:2], "deafs") as (a, b):
        t_a = await dial(a, "deafs")
        t_b = await dial(b, "deafs")
        await wait_joined(controller, conf["id"], 2)
        alice = call_of(await calls_of(controller, conf["id"]), "alice")
        await asyncio.sleep(1.5)
        t_deaf = time.monotonic()
        deaf = await controller.request(
            "POST", f"/v1/conferencecalls/{alice['id']}/deaf", expect=200
        )
        assert deaf["deaf"] is True and deaf["muted"] is False
        await asyncio.sleep(2.0)
        t_undeaf = time.monotonic()
        await controller.request("DELETE", f"/v1/conferencecalls/{alice['id']}/deaf", expect=200)
        await asyncio.sleep(2.0)
        await hang_up_all([a, b])
    # Margins on both sides: the WAV's timeline drifts from the wall clock by a few
    # hundred ms when RTP pauses, so the window's edges may hold audio from outside it.
    seg, _ = segment(a, t_deaf - t_a + 0.4, t_undeaf - t_a - 0.5)
    assert share(a, TONES[1], t_deaf - t_a - 1.0, t_deaf - t_a) > HEARD
    assert rms(seg) < 100, f"deaf alice heard something (rms {rms(seg):.0f})"
    assert share(a, TONES[1], t_undeaf - t_a + 0.4) > HEARD, "alice still deaf"
    # bob heard alice while she was deaf
    assert share(b, TONES[0], t_deaf - t_b + 0.4, t_undeaf - t_b) > HEARD


@asynccontextmanager
async def sound_server(directory: Path, port: int) -> AsyncIterator[str]:
    """A loopback HTTP server for sound files (Asterisk fetches them itself)."""
    app = web.Application()
    app.router.add_static("/", directory)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_play_beep_and_url_to_one_caller(
    runtime: Runtime, controller: Controller, tmp_path: Path
) -> None:
    write_tone(tmp_path / "tone.wav", URL_TONE, 1.5)
    conf = await create_room(controller, "plays")
    async with (
        sound_server(tmp_path, free_port()) as base,
        phones(runtime, TONES[:2], "plays") as (a, b),
    ):
        t_a = await dial(a, "plays")
        t_b = await dial(b, "plays")
        await wait_joined(controller, conf["id"], 2)
        alice = call_of(await calls_of(controller, conf["id"]), "alice")
        path = f"/v1/conferencecalls/{alice['id']}/play"
        await asyncio.sleep(1.0)
        t_beep = time.monotonic()
        await controller.request("POST", path, json={"media": "beep:2"}, expect=200)
        await asyncio.sleep(1.5)
        t_url = time.monotonic()
        await controller.request("POST", path, json={"media": f"{base}/tone.wav"}, expect=200)
        await asyncio.sleep(2.5)
        bad = await controller.request("POST", path, json={"media": "ftp://x/y.wav"})
        assert bad["error"] == "invalid_field" and bad["field"] == "media", bad
        await hang_up_all([a, b])
    assert share(a, BEEP, t_beep - t_a, t_url - t_a) > HEARD, "alice did not hear the beeps"
    assert share(b, BEEP, t_beep - t_b, t_url - t_b) < ABSENT, "bob heard alice's beeps"
    assert share(a, URL_TONE, t_url - t_a, t_url - t_a + 2.5) > HEARD, "alice missed the URL"
    assert share(b, URL_TONE, t_url - t_b, t_url - t_b + 2.5) < ABSENT


async def test_enter_beep_is_heard_by_those_inside(
    runtime: Runtime, controller: Controller
) -> None:
    conf = await create_room(controller, "beeps", enter_sound="beep:1")
    assert conf["enter_sound"] == "beep:1"
    async with phones(runtime, TONES[:2], "beeps") as (a, b):
        t_a = await dial(a, "beeps")
        await wait_joined(controller, conf["id"], 1)
        await asyncio.sleep(2.5)
        t_b = await dial(b, "beeps")
        await wait_joined(controller, conf["id"], 2)
        await asyncio.sleep(2.0)
        await hang_up_all([a, b])
    before = peak_share(a, BEEP, 1.2, t_b - t_a - 0.2)
    after = peak_share(a, BEEP, t_b - t_a - 0.2, t_b - t_a + 1.5)
    assert before < ABSENT, f"a beep before bob joined ({before:.3f})"
    assert after > HEARD, f"alice did not hear bob's enter beep ({after:.3f})"


async def test_dtmf_star_digits_match_and_relay(runtime: Runtime, controller: Controller) -> None:
    conf = await create_room(
        controller, "keys", hangup_on_star=True, digits_match="123,#9", relay_dtmf=True
    )
    async with phones(runtime, TONES[:2], "keys") as (a, b):
        await dial(a, "keys")
        await dial(b, "keys")
        await wait_joined(controller, conf["id"], 2)
        alice = call_of(await calls_of(controller, conf["id"]), "alice")
        await a.send_dtmf("4123")
        await b.wait_event("CALL_DTMF_START", timeout=5)  # relayed to bob
        await asyncio.sleep(1.0)
        relayed = [e["param"] for e in b.events if e.get("type") == "CALL_DTMF_START"]
        assert relayed == ["4"], relayed  # every digit except digits_match's (issue 19)
        lines = [json.loads(x) for x in controller.log.read_text().splitlines() if "{" in x]
        matched = [x for x in lines if x.get("event") == "digits matched"]
        assert [m["digits"] for m in matched] == ["123"], matched
        assert matched[0]["call"] == alice["id"]
        # The event itself (bus.emit): its log line names the event type and the call; its
        # data is in the event stream.
        events = [x for x in lines if x.get("event") == "conferencecall_digits"]
        assert [e["resource_id"] for e in events] == [alice["id"]]
        stream = await controller.request("GET", f"/v1/events?conference_id={conf['id']}")
        digits = [e["data"] for e in stream["result"] if e["type"] == "conferencecall_digits"]
        assert [(d["id"], d["digits"]) for d in digits] == [(alice["id"], "123")]
        await a.send_dtmf("*")
        await a.wait_event("CALL_CLOSED", timeout=5)
        await controller.wait_for(
            f"/v1/conferencecalls/{alice['id']}", lambda c: c["status"] == "leaved"
        )
        assert not b.has_event("CALL_CLOSED")
        assert "*" not in [e["param"] for e in b.events if e.get("type") == "CALL_DTMF_START"]
        await hang_up_all([b])


async def test_time_limit_stay_alone_and_floor(runtime: Runtime, controller: Controller) -> None:
    conf = await create_room(
        controller, "rules", member_time_limit=5, stay_alone=False, floor_events=True
    )
    async with phones(runtime, TONES[:2], "rules") as (a, b):
        t_a = await dial(a, "rules")
        await wait_joined(controller, conf["id"], 1)
        alice = call_of(await calls_of(controller, conf["id"]), "alice")
        got = await controller.wait_for(
            f"/v1/conferences/{conf['id']}",
            lambda c: c["floor_conferencecall_id"] == alice["id"],
        )
        assert got["floor_conferencecall_id"] == alice["id"]
        await dial(b, "rules")
        await wait_joined(controller, conf["id"], 2)
        bob = call_of(await calls_of(controller, conf["id"]), "bob")
        await controller.wait_for(
            f"/v1/conferences/{conf['id']}", lambda c: c["floor_conferencecall_id"] == bob["id"]
        )
        talking = await controller.request("GET", f"/v1/conferencecalls/{bob['id']}")
        assert talking["talking"] is True
        # alice's member_time_limit (5 s) ends her call; bob, alone, is hung up (stay_alone)
        await a.wait_event("CALL_CLOSED", timeout=8)
        assert 4.0 < time.monotonic() - t_a < 7.5
        await b.wait_event("CALL_CLOSED", timeout=5)
        await controller.wait_for(
            f"/v1/conferences/{conf['id']}", lambda c: c["status"] == "terminated"
        )
