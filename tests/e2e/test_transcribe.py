"""Live transcription end to end (issue 13): a real Asterisk, real baresip phones whose
microphones speak espeak-ng sentences (8 kHz, G.711 on the wire), the controller as a
process with the default local model (faster-whisper + the bundled tiny.en), a real HTTP
receiver for webhooks and a real WebSocket client.

One controller for the module: its decoding worker loads the model once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.support.controller import ApiError, Controller, running_controller
from tests.support.events import Receiver, WsClient
from tests.support.phone import Phone
from tests.support.room import calls_of, create_room, wait_joined
from tests.support.runtime import Runtime
from tests.support.speech import Spoken, microphone, word_share

A1 = "Our meeting will start at ten o'clock in the main conference room"
A2 = "We are going to need more chairs in here"
B1 = "Thank you for calling, the manager will be with you shortly"
MIN_SHARE = 0.7
TIME_SLACK = 1.0  # seconds between when a sentence was spoken and its segment's times


@pytest.fixture(scope="module")
async def ctl(
    runtime: Runtime, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Controller]:
    workdir = tmp_path_factory.mktemp("transcribe") / "controller"
    async with running_controller(runtime, workdir) as c:
        yield c


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


async def speaking_phone(
    runtime: Runtime, account: str, tag: str, parts: list[float | str]
) -> tuple[Phone, list[Spoken]]:
    phone = Phone(runtime, account, 440.0, tag=f"-{tag}")
    await phone.start()
    spoken = microphone(runtime, phone.dir / "tone.wav", parts)  # read when the call starts
    return phone, spoken


async def join(ctl: Controller, phone: Phone, conf: dict[str, Any], n: int) -> tuple[str, float]:
    """Dial in; (the new conferencecall id, when its audio started, epoch seconds)."""
    before = {c["id"] for c in await calls_of(ctl, conf["id"])}
    await phone.dial(conf["room"])
    await phone.wait_event("CALL_ESTABLISHED")
    started = time.time()
    await wait_joined(ctl, conf["id"], n)
    (new,) = [c["id"] for c in await calls_of(ctl, conf["id"]) if c["id"] not in before]
    return new, started


async def segments(ctl: Controller, transcribe_id: str) -> list[dict[str, Any]]:
    body = await ctl.request("GET", f"/v1/transcribes/{transcribe_id}/transcripts?page_size=100")
    return list(reversed(body["result"]))  # oldest first


async def wait_segment(
    ctl: Controller, transcribe_id: str, call_id: str, timeout: float = 40
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for seg in await segments(ctl, transcribe_id):
            if seg["conferencecall_id"] == call_id:
                return seg
        await asyncio.sleep(0.2)
    raise AssertionError(f"no segment of {call_id}: {await segments(ctl, transcribe_id)}")


def check_segment(seg: dict[str, Any], spoken: Spoken, audio_start: float) -> None:
    share = word_share(spoken.text, seg["text"])
    assert share >= MIN_SHARE, (spoken.text, seg["text"], share)
    start, end = audio_start + spoken.start, audio_start + spoken.end
    assert abs(seg["start_ms"] / 1000 - start) <= TIME_SLACK, (seg, start)
    assert abs(seg["end_ms"] / 1000 - end) <= TIME_SLACK, (seg, end)


async def test_each_speaker_is_transcribed_live(
    runtime: Runtime, ctl: Controller, receiver: Receiver
) -> None:
    await ctl.request("POST", "/v1/webhooks", json={"url": f"{receiver.url}/hook"}, expect=201)
    ws = await WsClient(ctl.base, "tenant-a-token").open("conference:*")
    a, a_said = await speaking_phone(runtime, "alice", "tx", [7.0, A1, 16.0, A2])
    b, b_said = await speaking_phone(runtime, "bob", "tx", [11.0, B1])
    try:
        conf = await create_room(ctl, "txlive")
        a_call, a_audio = await join(ctl, a, conf, 1)
        body = {"language": "en-US"}
        started = await ctl.request(
            "POST", f"/v1/conferences/{conf['id']}/transcribe_start", json=body, expect=200
        )
        tx_id = started["transcribe_id"]
        assert tx_id and started["transcribe_ids"] == [tx_id]
        with pytest.raises(ApiError) as second:
            await ctl.request(
                "POST", f"/v1/conferences/{conf['id']}/transcribe_start", json=body, expect=200
            )
        assert second.value.status == 409
        # Bob joins after the start: transcribed too; he speaks after Alice.
        b_call, b_audio = await join(ctl, b, conf, 2)
        seg_a = await wait_segment(ctl, tx_id, a_call)
        check_segment(seg_a, a_said[0], a_audio)
        seg_b = await wait_segment(ctl, tx_id, b_call)
        check_segment(seg_b, b_said[0], b_audio)
        assert seg_b["start_ms"] > seg_a["end_ms"]
        # Stop before Alice's second sentence: it never becomes a segment.
        stop_at = time.time()
        assert stop_at < a_audio + a_said[1].start - 1, "too slow to stop before A2"
        stopped = await ctl.request(
            "POST", f"/v1/conferences/{conf['id']}/transcribe_stop", expect=200
        )
        assert stopped["transcribe_id"] is None
        # Webhook and WebSocket carried both segments.
        await receiver.wait(
            lambda: (
                len(
                    [
                        e
                        for e in receiver.events("/hook", conf["id"])
                        if e["type"] == "transcript_created"
                    ]
                )
                == 2
            )
        )
        hooked = [
            e for e in receiver.events("/hook", conf["id"]) if e["type"] == "transcript_created"
        ]
        assert [e["data"]["id"] for e in hooked] == [seg_a["id"], seg_b["id"]]
        await ws.wait_for_type("transcript_created", conf["id"])
        deadline = time.monotonic() + 10
        while len([e for e in ws.of(conf["id"]) if e["type"] == "transcript_created"]) < 2:
            assert time.monotonic() < deadline, ws.of(conf["id"])
            await asyncio.sleep(0.1)
        # A2 is spoken after the stop: wait past it, nothing more comes.
        await asyncio.sleep(max(0.0, a_audio + a_said[1].end + 3 - time.time()))
        assert [s["id"] for s in await segments(ctl, tx_id)] == [seg_a["id"], seg_b["id"]]
        tx = await ctl.request("GET", f"/v1/transcribes/{tx_id}", expect=200)
        assert tx["status"] == "done" and tx["language"] == "en-US"
    finally:
        await ws.close()
        await asyncio.gather(a.stop(), b.stop(), return_exceptions=True)


async def test_a_recording_is_transcribed_to_transcription_url(
    runtime: Runtime, ctl: Controller, receiver: Receiver
) -> None:
    """Plivo transcriptionType auto + transcriptionUrl on a recording conference."""
    c, said = await speaking_phone(runtime, "carol", "txrec", [1.0, B1])
    try:
        conf = await create_room(
            ctl,
            "txrec",
            record=True,
            transcription_type="auto",
            transcription_url=f"{receiver.url}/tx",
        )
        await join(ctl, c, conf, 1)
        await asyncio.sleep(said[0].end + 1.5)
        await c.hangup()  # the room empties: its recording ends and is finalized
        await receiver.wait(lambda: receiver.requests("/tx"), timeout=40)
    finally:
        await c.stop()
    (req,) = receiver.requests("/tx")
    form = {k: v[0] for k, v in parse_qs(req.body.decode(), keep_blank_values=True).items()}
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert set(form) == {
        "transcription_charge", "transcription", "duration", "call_uuid",
        "transcription_rate", "recording_id", "error",
    }  # fmt: skip
    assert word_share(B1, form["transcription"]) >= MIN_SHARE, form
    assert form["error"] == "" and form["call_uuid"] == conf["id"]
    rec = await ctl.request("GET", f"/v1/recordings/{form['recording_id']}", expect=200)
    assert rec["conference_id"] == conf["id"] and rec["transcript"] == form["transcription"]
    assert int(form["duration"]) == round(rec["duration_ms"] / 1000)
