"""Conference recording against a real Asterisk and real baresip phones: the downloaded
file is decoded and its audio checked by FFT (both callers' tones are in the mix)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.test_conference_audio import hang_up_all
from tests.support.audio import HEARD, band_energy, read_wav
from tests.support.controller import Controller
from tests.support.room import create_room, phones, wait_joined
from tests.support.runtime import Runtime

TONES = [440.0, 700.0]


async def download(ctl: Controller, rec: dict[str, Any], dest: Path) -> tuple[str, bytes]:
    """GET the recording's download_url: (content type, bytes), also written to dest."""
    headers = {"Authorization": "Bearer tenant-a-token"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{ctl.base}{rec['download_url']}", headers=headers) as r,
    ):
        assert r.status == 200, await r.text()
        data = await r.read()
        ctype = r.content_type
    save(dest, data)
    return ctype, data


def save(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)


def sox_decode(runtime: Runtime, mp3: Path, wav: Path) -> None:
    """mp3 -> 16-bit WAV with the runtime's sox (libsox-fmt-mp3: libmad, a real decoder)."""
    subprocess.run(
        runtime.command("sox", runtime.inside(mp3), "-b", "16", runtime.inside(wav)),
        check=True,
        capture_output=True,
        timeout=30,
    )


def tone_shares(wav: Path, skip: float = 0.3) -> list[float]:
    data, rate = read_wav(wav)
    seg = data[int(skip * rate) :]
    return [band_energy(seg, rate, f) for f in TONES]


def wav_seconds(wav: Path) -> float:
    data, rate = read_wav(wav)
    return data.size / rate


async def record_for(ctl: Controller, conf_id: str, seconds: float, **body: Any) -> Any:
    """start, wait, stop: (recording JSON, seconds between start and stop)."""
    started = await ctl.request(
        "POST", f"/v1/conferences/{conf_id}/recording_start", json=body, expect=200
    )
    t0 = time.monotonic()
    rec_id = started["recording_id"]
    assert rec_id and rec_id in started["recording_ids"]
    await asyncio.sleep(seconds)
    t1 = time.monotonic()
    stopped = await ctl.request("POST", f"/v1/conferences/{conf_id}/recording_stop", expect=200)
    assert stopped["recording_id"] is None and rec_id in stopped["recording_ids"]
    rec = await ctl.request("GET", f"/v1/recordings/{rec_id}", expect=200)
    return rec, t1 - t0


async def test_wav_recording_holds_both_callers(runtime: Runtime, controller: Controller) -> None:
    conf = await create_room(controller, "recwav")
    async with phones(runtime, TONES, "recwav") as ps:
        for p in ps:
            await p.dial("recwav")
        await wait_joined(controller, conf["id"], 2)
        await asyncio.sleep(0.5)
        rec, elapsed = await record_for(controller, conf["id"], 3.0)
        await hang_up_all(ps)
    assert rec["status"] == "finished", rec
    assert rec["format"] == "wav" and rec["conference_id"] == conf["id"]
    wav = runtime.instance_dir / "rec-e2e" / "recwav.wav"
    ctype, data = await download(controller, rec, wav)
    assert ctype == "audio/wav" and data[:4] == b"RIFF"
    assert rec["size_bytes"] == len(data)
    seconds = wav_seconds(wav)
    assert abs(seconds - elapsed) <= 0.1 * elapsed, (seconds, elapsed)
    assert abs(rec["duration_ms"] / 1000 - seconds) < 0.05
    assert rec["end_ms"] - rec["start_ms"] > 0
    for tone, s in zip(TONES, tone_shares(wav), strict=True):
        assert s > HEARD, f"{tone} Hz missing from the recording ({s:.3f})"
    # Asterisk's copy is gone: the controller keeps the only one.
    assert not (runtime.instance_dir / "spool" / "recording" / f"{rec['id']}.wav").exists()
    listed = await controller.request("GET", f"/v1/recordings?conference_id={conf['id']}")
    assert [r["id"] for r in listed["result"]] == [rec["id"]]


async def test_mp3_recording_is_real_mp3(runtime: Runtime, controller: Controller) -> None:
    conf = await create_room(controller, "recmp3")
    async with phones(runtime, TONES, "recmp3") as ps:
        for p in ps:
            await p.dial("recmp3")
        await wait_joined(controller, conf["id"], 2)
        await asyncio.sleep(0.5)
        rec, elapsed = await record_for(controller, conf["id"], 3.0, format="mp3")
        await hang_up_all(ps)
    assert rec["status"] == "finished" and rec["format"] == "mp3", rec
    mp3 = runtime.instance_dir / "rec-e2e" / "recmp3.mp3"
    ctype, data = await download(controller, rec, mp3)
    assert ctype == "audio/mpeg"
    assert data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0), data[:4]
    wav = mp3.with_suffix(".wav")
    sox_decode(runtime, mp3, wav)
    seconds = wav_seconds(wav)
    assert abs(seconds - elapsed) <= 0.1 * elapsed + 0.15, (seconds, elapsed)  # + codec padding
    for tone, s in zip(TONES, tone_shares(wav), strict=True):
        assert s > HEARD, f"{tone} Hz missing from the mp3 ({s:.3f})"


async def test_max_duration_and_state_rules(runtime: Runtime, controller: Controller) -> None:
    conf = await create_room(controller, "recmax")
    base = f"/v1/conferences/{conf['id']}"
    async with phones(runtime, TONES[:1], "recmax") as ps:
        await ps[0].dial("recmax")
        await wait_joined(controller, conf["id"], 1)
        none = await controller.request("POST", f"{base}/recording_stop")
        assert none["error"] == "conference_invalid_state", none
        started = await controller.request(
            "POST", f"{base}/recording_start", json={"max_duration": 3}, expect=200
        )
        rec_id = started["recording_id"]
        again = await controller.request("POST", f"{base}/recording_start", json={})
        assert again["error"] == "conference_invalid_state", again
        busy = await controller.request("DELETE", f"/v1/recordings/{rec_id}")
        assert busy["error"] == "recording_invalid_state", busy
        rec = await controller.wait_for(
            f"/v1/recordings/{rec_id}", lambda b: b["status"] != "recording", timeout=8
        )
        got = await controller.request("GET", base)
        await hang_up_all(ps)
    assert rec["status"] == "finished", rec
    assert got["recording_id"] is None and got["recording_ids"] == [rec_id]
    assert 2.7 <= rec["duration_ms"] / 1000 <= 3.0, rec
    wav = runtime.instance_dir / "rec-e2e" / "recmax.wav"
    await download(controller, rec, wav)
    assert tone_shares(wav)[0] > HEARD
    gone = await controller.request("DELETE", f"/v1/recordings/{rec_id}", expect=200)
    assert gone["id"] == rec_id
    missing = await controller.request("GET", f"/v1/recordings/{rec_id}")
    assert missing["error"] == "recording_not_found"


async def test_record_at_start_and_stop_on_terminate(
    runtime: Runtime, controller: Controller
) -> None:
    conf = await create_room(controller, "recauto", record=True, record_format="mp3")
    assert conf["record"] is True and conf["recording_id"] is None
    async with phones(runtime, TONES[:1], "recauto") as ps:
        await ps[0].dial("recauto")
        await wait_joined(controller, conf["id"], 1)
        got = await controller.wait_for(
            f"/v1/conferences/{conf['id']}", lambda b: b["recording_id"] is not None
        )
        rec_id = got["recording_id"]
        await asyncio.sleep(2)
        await controller.request("DELETE", f"/v1/conferences/{conf['id']}", expect=200)
        await ps[0].wait_event("CALL_CLOSED", timeout=5)
    rec = await controller.wait_for(
        f"/v1/recordings/{rec_id}", lambda b: b["status"] != "recording", timeout=10
    )
    assert rec["status"] == "finished" and rec["format"] == "mp3", rec
    assert rec["duration_ms"] > 1500
    ended = await controller.wait_for(
        f"/v1/conferences/{conf['id']}", lambda b: b["status"] == "terminated"
    )
    assert ended["recording_id"] is None and ended["recording_ids"] == [rec_id]


async def test_controller_restart_mid_recording(runtime: Runtime, controller: Controller) -> None:
    conf = await create_room(controller, "recrestart")
    base = f"/v1/conferences/{conf['id']}"
    async with phones(runtime, TONES, "recrestart") as ps:
        for p in ps:
            await p.dial("recrestart")
        await wait_joined(controller, conf["id"], 2)
        await asyncio.sleep(0.5)
        started = await controller.request("POST", f"{base}/recording_start", expect=200)
        t0 = time.monotonic()
        rec_id = started["recording_id"]
        await asyncio.sleep(1)
        await controller.kill9()
        await asyncio.sleep(1)
        await controller.start()
        got = await controller.request("GET", base)
        assert got["recording_id"] == rec_id, got
        await asyncio.sleep(1)
        t1 = time.monotonic()
        stopped = await controller.request("POST", f"{base}/recording_stop", expect=200)
        assert stopped["recording_id"] is None
        await hang_up_all(ps)
    rec = await controller.request("GET", f"/v1/recordings/{rec_id}", expect=200)
    assert rec["status"] == "finished", rec
    wav = runtime.instance_dir / "rec-e2e" / "recrestart.wav"
    await download(controller, rec, wav)
    seconds, elapsed = wav_seconds(wav), t1 - t0
    assert abs(seconds - elapsed) <= 0.1 * elapsed, (seconds, elapsed)
    for tone, s in zip(TONES, tone_shares(wav), strict=True):
        assert s > HEARD, f"{tone} Hz missing after the restart ({s:.3f})"


async def test_other_tenant_gets_404(runtime: Runtime, controller: Controller) -> None:
    conf = await create_room(controller, "recmine")
    base = f"/v1/conferences/{conf['id']}"
    async with phones(runtime, TONES[:1], "recmine") as ps:
        await ps[0].dial("recmine")
        await wait_joined(controller, conf["id"], 1)
        other = await controller.request(
            "POST", f"{base}/recording_start", json={}, token="tenant-b-token"
        )
        assert other["error"] == "conference_not_found", other
        started = await controller.request("POST", f"{base}/recording_start", expect=200)
        rec_id = started["recording_id"]
        for method, path in (
            ("GET", f"/v1/recordings/{rec_id}"),
            ("GET", f"/v1/recordings/{rec_id}/file"),
            ("DELETE", f"/v1/recordings/{rec_id}"),
            ("POST", f"{base}/recording_stop"),
        ):
            body = await controller.request(method, path, token="tenant-b-token")
            assert body["error"].endswith("_not_found"), (method, path, body)
        listed = await controller.request("GET", "/v1/recordings", token="tenant-b-token")
        assert listed["result"] == []
        await controller.request("POST", f"{base}/recording_stop", expect=200)
        await hang_up_all(ps)


# --- every recording ends (issue 11, defect 4) ---------------------------------------------
# Before: ARI did not subscribe the app to a bridge it created until a caller entered it, so
# a recording of an empty room never got its RecordingFinished: recording_stop waited 15 s,
# the recording stayed `recording` (DELETE 409) and its WAV stayed in Asterisk's spool.


def spool_file(runtime: Runtime, rec_id: str) -> Path:
    return runtime.instance_dir / "spool" / "recording" / f"{rec_id}.wav"


async def ended_cleanly(runtime: Runtime, ctl: Controller, rec_id: str) -> dict[str, Any]:
    """The recording is final within a few seconds, finished with 0 ms of audio (nobody
    was in the room), Asterisk's copy is gone and the recording can be deleted."""
    rec = await ctl.wait_for(
        f"/v1/recordings/{rec_id}", lambda b: b["status"] != "recording", timeout=3
    )
    assert rec["status"] == "finished" and rec["reason"] is None, rec
    assert rec["duration_ms"] == 0 and rec["end_ms"] >= rec["start_ms"], rec
    for _ in range(20):  # deleted through ARI right after the final state is stored
        if not spool_file(runtime, rec_id).exists():
            break
        await asyncio.sleep(0.1)
    assert not spool_file(runtime, rec_id).exists(), "Asterisk's copy left in its spool"
    wav = runtime.instance_dir / "rec-e2e" / f"{rec_id}.wav"
    _, data = await download(ctl, rec, wav)
    assert data[:4] == b"RIFF" and wav_seconds(wav) == 0
    await ctl.request("DELETE", f"/v1/recordings/{rec_id}", expect=200)
    return rec  # type: ignore[no-any-return]


async def recording_in_empty_room(ctl: Controller, room: str, **fields: Any) -> tuple[str, str]:
    """A new room nobody dialled into, recording: (its API path, the recording id)."""
    conf = await create_room(ctl, room, **fields)
    base = f"/v1/conferences/{conf['id']}"
    started = await ctl.request("POST", f"{base}/recording_start", expect=200)
    return base, started["recording_id"]


async def test_recording_an_empty_room_stops_at_once(
    runtime: Runtime, controller: Controller
) -> None:
    base, rec_id = await recording_in_empty_room(controller, "recempty")
    await asyncio.sleep(1.0)
    assert spool_file(runtime, rec_id).exists()  # Asterisk is recording the empty bridge
    t0 = time.monotonic()
    stopped = await controller.request("POST", f"{base}/recording_stop", expect=200)
    assert time.monotonic() - t0 < 3, "recording_stop waited for an event that never came"
    assert stopped["recording_id"] is None and stopped["recording_ids"] == [rec_id]
    rec = await controller.request("GET", f"/v1/recordings/{rec_id}", expect=200)
    assert rec["status"] == "finished", rec
    await ended_cleanly(runtime, controller, rec_id)


async def test_recording_ends_with_its_conference_then_stop_is_409(
    runtime: Runtime, controller: Controller
) -> None:
    base, rec_id = await recording_in_empty_room(controller, "recended", timeout=3)  # ends
    ended = await controller.wait_for(base, lambda b: b["status"] == "terminated", timeout=8)
    assert ended["recording_id"] is None and ended["recording_ids"] == [rec_id]
    await ended_cleanly(runtime, controller, rec_id)
    late = await controller.request("POST", f"{base}/recording_stop")
    assert late["error"] == "conference_invalid_state", late


async def test_deleting_the_conference_ends_its_recording(
    runtime: Runtime, controller: Controller
) -> None:
    base, rec_id = await recording_in_empty_room(controller, "recdeleted")
    await asyncio.sleep(1.0)
    gone = await controller.request("DELETE", base, expect=200)
    assert gone["status"] == "terminated"
    await ended_cleanly(runtime, controller, rec_id)


async def test_everyone_leaving_ends_the_recording(
    runtime: Runtime, controller: Controller
) -> None:
    """Asterisk's recorder leaves a bridge that empties (seen on Asterisk 22): the recording
    ends by itself with the audio so far; a later recording_stop has nothing to stop."""
    conf = await create_room(controller, "recleft")
    base = f"/v1/conferences/{conf['id']}"
    async with phones(runtime, TONES[:1], "recleft") as ps:
        await ps[0].dial("recleft")
        await wait_joined(controller, conf["id"], 1)
        started = await controller.request("POST", f"{base}/recording_start", expect=200)
        rec_id = started["recording_id"]
        await asyncio.sleep(2.0)
        await hang_up_all(ps)
    rec = await controller.wait_for(
        f"/v1/recordings/{rec_id}", lambda b: b["status"] != "recording", timeout=5
    )
    assert rec["status"] == "finished" and rec["duration_ms"] > 1500, rec
    late = await controller.request("POST", f"{base}/recording_stop")
    assert late["error"] == "conference_invalid_state", late
    wav = runtime.instance_dir / "rec-e2e" / "recleft.wav"
    await download(controller, rec, wav)
    assert tone_shares(wav)[0] > HEARD
    assert not spool_file(runtime, rec_id).exists()
