"""Hoiio clients end to end (issue 19): a Hoiio-style client (form fields app_id and
access_token, seed 000) dials two numbers of the test carrier into a room, and is refused
with the seed's codes, dialling nobody, when its credentials are wrong; the Record block
(seed 002) on a conferencecall records one caller (baresip phones, FFT of the file): the
caller hears the spoken prompt before the beep, its own tone is in the recording and the
other caller's is not, `#` ends it early, the notification carries the seed's fields, and
max_duration defaults to 120."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.test_recording import sox_decode
from tests.support.audio import ABSENT, HEARD, band_energy, read_wav, rms
from tests.support.carrier import ANSWER_440, ANSWER_700, Carrier, carrier_env
from tests.support.controller import Controller, running_controller
from tests.support.events import Receiver
from tests.support.room import calls_of, create_room, phones, wait_joined
from tests.support.runtime import Runtime, started

APP_ID = "app-tenant-a"
TOKEN = secrets.token_urlsafe(18)  # made per run, like every secret
SETTINGS = {
    "CONFSVC_HOIIO_APPS": f"{APP_ID}:{TOKEN}:tenant-a",
    "CONFSVC_DIALOUT_ALLOW": "tenant-a:+1555",
    "CONFSVC_CALLER_IDS": "tenant-a:+6560000000",
}


@pytest.fixture(scope="module")
def carrier(runtime: Runtime) -> Iterator[Carrier]:
    with started(Carrier(env=carrier_env()), "the test carrier") as c:
        yield c


@pytest.fixture
async def ctl(runtime: Runtime, tmp_path: Path) -> AsyncIterator[Controller]:
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


async def form_post(ctl: Controller, path: str, fields: dict[str, str]) -> tuple[int, Any]:
    """What a Hoiio client sends: a form, no Authorization header."""
    async with aiohttp.ClientSession() as http, http.post(f"{ctl.base}{path}", data=fields) as r:
        return r.status, await r.json(content_type=None)


async def test_hoiio_client_dials_two_numbers_and_bad_credentials_dial_nobody(
    ctl: Controller, carrier: Carrier, receiver: Receiver
) -> None:
    before = carrier.calls_processed()
    base = {"dest": f"{ANSWER_440},{ANSWER_700}", "room": "hoiio1", "tag": "t-1"}
    for fields, code in (
        ({**base, "app_id": APP_ID, "access_token": "wrong"}, "error_invalid_access_token"),
        ({**base, "app_id": "app-nobody", "access_token": TOKEN}, "error_invalid_app_id"),
        ({**base, "access_token": TOKEN}, "error_app_id_param_missing"),
    ):
        status, body = await form_post(ctl, "/open/conference/call", fields)
        assert (status, body["status"], body["error"]) == (401, code, code), body
    status, body = await form_post(
        ctl,
        "/open/conference/call",
        {**base, "app_id": APP_ID, "access_token": TOKEN, "caller_id": "+6599999999"},
    )
    assert (status, body["status"]) == (403, "error_invalid_caller_id"), body
    async with aiohttp.ClientSession() as http, http.put(f"{ctl.base}/open/conference/call") as r:
        assert r.status == 405 and (await r.json())["status"] == "error_invalid_http_method"
    await asyncio.sleep(1)
    assert carrier.calls_processed() == before  # nothing was dialled

    fields = {
        **base,
        "app_id": APP_ID,
        "access_token": TOKEN,
        "caller_id": "+6560000000",
        "notify_url": f"{receiver.url}/notify",
    }
    status, placed = await form_post(ctl, "/open/conference/call", fields)
    assert status == 200 and placed["status"] == "success_ok", placed
    assert placed["room"] == "hoiio1" and len(placed["txn_refs"]) == 2
    for txn in placed["txn_refs"]:
        await ctl.wait_for(f"/v1/calls/{txn}", lambda b: b["conferencecall_id"] is not None, 20)
    await wait_joined(ctl, placed["conference_id"], 2)
    assert carrier.calls_processed() - before == 2
    await ctl.request("DELETE", f"/v1/conferences/{placed['conference_id']}", expect=200)
    await receiver.wait(lambda: len(receiver.requests("/notify")) >= 2, timeout=15)
    got = [r.form for r in receiver.requests("/notify")]
    assert sorted(r["dest"] for r in got) == sorted([ANSWER_440, ANSWER_700])
    assert all(r["tag"] == "t-1" and r["call_status_dest"] == "answered" for r in got), got


def segment(path: Path, start: float, end: float) -> Any:
    data, rate = read_wav(path)
    return data[int(max(start, 0) * rate) : int(end * rate)], rate


async def test_record_block_records_one_caller_until_hash(
    runtime: Runtime, ctl: Controller, receiver: Receiver
) -> None:
    conf = await create_room(ctl, "hoiiorec")
    words = f"Please leave your message after the tone, number {secrets.randbelow(10**6)}"
    async with phones(runtime, [440.0, 700.0], "hoiiorec") as (alice, bob):
        await alice.dial("hoiiorec")
        await alice.wait_event("CALL_ESTABLISHED")
        t_alice = time.monotonic()
        await wait_joined(ctl, conf["id"], 1)
        session = (await calls_of(ctl, conf["id"]))[0]["id"]
        await asyncio.sleep(1.5)
        t_req = time.monotonic()
        status, body = await form_post(
            ctl,
            "/open/ivr/middle/record",
            {
                "app_id": APP_ID,
                "access_token": TOKEN,
                "session": session,
                "msg": f'<speech language="en-GB" gender="male">{words}</speech>',
                "max_duration": "60",
                "tag": "voicemail-1",
                "notify_url": f"{receiver.url}/notify",
            },
        )
        t_resp = time.monotonic()
        assert status == 200 and body["status"] == "success_ok", body
        txn = body["txn_ref"]
        again = await form_post(
            ctl,
            f"/v1/conferencecalls/{session}/record",
            {"app_id": APP_ID, "access_token": TOKEN},
        )
        assert again[1]["status"] == "error_session_not_ready", again
        # The recording starts after the prompt and the beep; then bob joins and talks.
        rec = await ctl.wait_for(f"/v1/recordings/{txn}", lambda b: "status" in b, timeout=30)
        assert (rec["status"], rec["format"], rec["max_duration"]) == ("recording", "mp3", 60)
        await bob.dial("hoiiorec")
        await wait_joined(ctl, conf["id"], 2)
        await asyncio.sleep(2.5)
        await alice.send_dtmf("#")
        rec = await ctl.wait_for(
            f"/v1/recordings/{txn}", lambda b: b["status"] != "recording", timeout=15
        )
        await receiver.wait(lambda: len(receiver.requests("/notify")) >= 1, timeout=15)
        note = receiver.requests("/notify")[0].form

        # Another block, no max_duration: 120 stored; alice hangs up during it.
        status, body = await form_post(
            ctl,
            f"/v1/conferencecalls/{session}/record",
            {"app_id": APP_ID, "access_token": TOKEN, "notify_url": f"{receiver.url}/notify"},
        )
        assert status == 200, body
        second = await ctl.wait_for(
            f"/v1/recordings/{body['txn_ref']}", lambda b: "status" in b, 30
        )
        assert second["max_duration"] == 120
        await asyncio.sleep(1)
        await alice.hangup()
        await receiver.wait(lambda: len(receiver.requests("/notify")) >= 2, timeout=20)
        ended = receiver.requests("/notify")[1].form

    assert rec["status"] == "finished", rec
    assert rec["duration_ms"] < 15_000  # `#` ended it, not its max_duration of 60 s
    assert note["ivr_block"] == "record" and note["session"] == session
    assert (note["txn_ref"], note["tag"], note["call_state"]) == (txn, "voicemail-1", "ongoing")
    assert note["record_status"] == "success"
    assert note["record_url"].endswith(f"/v1/recordings/{txn}/file")
    assert note["to"] == "hoiiorec" and "date" not in note
    assert ended["call_state"] == "ended" and len(ended["date"]) == 19 and "duration" in ended
    assert ended["record_status"] == "success" and "tag" not in ended

    # The caller heard the prompt: speech energy after the request, silence before it.
    quiet, _ = segment(alice.heard, t_req - t_alice - 1.0, t_req - t_alice)
    speech, rate = segment(alice.heard, t_resp - t_alice, t_resp - t_alice + 2.0)
    assert rms(quiet) < 100 and rms(speech) > 300, (rms(quiet), rms(speech))
    # Speech, not the beep (or any tone): no 50 Hz band holds most of the energy.
    peak = max(band_energy(speech, rate, f) for f in range(200, 3600, 50))
    assert peak < 0.5, f"the prompt window is a tone, not speech ({peak:.2f})"

    # The file (record_url, with the Hoiio credentials): alice's 440 Hz, not bob's 700 Hz.
    url = f"{note['record_url']}?app_id={APP_ID}&access_token={TOKEN}"
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        assert r.status == 200 and r.content_type == "audio/mpeg", await r.text()
        data = await r.read()
    mp3 = runtime.instance_dir / "rec-e2e" / "hoiiorec.mp3"
    mp3.parent.mkdir(parents=True, exist_ok=True)
    mp3.write_bytes(data)
    wav = mp3.with_suffix(".wav")
    sox_decode(runtime, mp3, wav)
    samples, rate = read_wav(wav)
    seg = samples[int(0.3 * rate) :]
    assert band_energy(seg, rate, 440) > HEARD, "the recorded caller is missing"
    assert band_energy(seg, rate, 700) < ABSENT, "the other caller is in the recording"
