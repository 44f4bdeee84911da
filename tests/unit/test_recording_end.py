"""Every recording ends (issue 11, defect 4): real app, Engine and SqliteStore, fake ARI.

Asterisk losing RecordingFinished, ignoring the stop, or not answering at all: the
recording still becomes `finished` or `failed` with a reason (record_end.py), never stays
`recording`, and Asterisk's spool copy is deleted (now, or by the next reconcile's sweep)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from confsvc.ari import AriError
from confsvc.engine import audio, record_end
from tests.support.fake_ari import ApiHarness, api_harness, tone_wav

CONF = "/v1/conferences"
RECS = "/v1/recordings"


@pytest.fixture
async def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ApiHarness]:
    monkeypatch.setattr(record_end, "FINISH_GRACE_SECONDS", 0.05)
    async with api_harness(tmp_path) as h:
        yield h


async def started(api: ApiHarness, **fields: Any) -> tuple[str, str]:
    """A conference with a recording going: (conference id, recording id)."""
    conf = await api.create(**fields)
    status, body = await api.request("POST", f"{CONF}/{conf['id']}/recording_start", json={})
    assert status == 200, body
    return conf["id"], body["recording_id"]


async def final(api: ApiHarness, rec_id: str, timeout: float = 3.0) -> dict[str, Any]:
    """The recording once it is no longer `recording` (fails the test if it stays)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await api.engine.lanes.drain()
        status, body = await api.request("GET", f"{RECS}/{rec_id}")
        assert status == 200, body
        if body["status"] != "recording":
            return body  # type: ignore[no-any-return]
        assert asyncio.get_running_loop().time() < deadline, f"still recording: {body}"
        await asyncio.sleep(0.02)


def finished_events(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == "recording_finished"]


async def test_start_subscribes_the_app_to_the_bridge_first(api: ApiHarness) -> None:
    """Without it, a recording of an empty bridge never gets its RecordingFinished."""
    conf_id, _ = await started(api)
    names = [name for name, _, _ in api.ari.calls]
    assert api.ari.subscriptions == [f"bridge:{conf_id}"]
    assert names.index("subscribe") < names.index("record_bridge")


async def test_lost_recording_finished_is_made_good_by_the_deadline(api: ApiHarness) -> None:
    api.ari.notify_recordings = False  # Asterisk ends it, its event reaches nobody
    conf_id, rec_id = await started(api)
    with capture_logs() as logs:
        status, body = await api.request("POST", f"{CONF}/{conf_id}/recording_stop")
        assert status == 200 and body["recording_id"] is None
        rec = await final(api, rec_id)  # already final: recording_stop waited for it
    assert rec["status"] == "finished" and rec["duration_ms"] == 1000 and rec["reason"] is None
    assert api.ari.called("get_live_recording") == [((rec_id,), {})]
    assert rec_id not in api.ari.stored_recordings  # spool copy deleted
    assert len(finished_events(logs)) == 1
    assert api.engine.recording_stops == {} and rec_id not in api.engine.recording_conference


async def test_an_empty_room_gives_a_finished_recording_of_0_ms(api: ApiHarness) -> None:
    api.ari.recording_audio = tone_wav(0.0)  # what Asterisk 22 stores: a bare header
    conf_id, rec_id = await started(api)
    await api.request("POST", f"{CONF}/{conf_id}/recording_stop")
    rec = await final(api, rec_id)
    assert rec["status"] == "finished" and rec["duration_ms"] == 0 and rec["size_bytes"] == 44
    path = api.settings.recordings_dir / f"{rec_id}.wav"
    assert audio.parse_wav(path.read_bytes()).frames == 0
    assert rec_id not in api.ari.stored_recordings


async def test_asterisk_ignoring_the_stop_ends_in_failed_not_stopped(api: ApiHarness) -> None:
    api.ari.auto_finish = False  # the stop is accepted, the recording goes on
    conf_id, rec_id = await started(api)
    with capture_logs() as logs:
        status, body = await api.request("POST", f"{CONF}/{conf_id}/recording_stop")
        assert status == 200 and body["recording_id"] is None
        rec = await final(api, rec_id)
    assert rec["status"] == "failed" and rec["reason"] == "not_stopped", rec
    assert rec["end_ms"] is not None and rec["download_url"] is None
    # Asked FINISH_ATTEMPTS times in all, then cancelled.
    assert len(api.ari.called("stop_live_recording")) == record_end.FINISH_ATTEMPTS
    assert api.ari.called("cancel_live_recording") == [((rec_id,), {})]
    assert rec_id not in api.ari.live_recordings
    assert len(finished_events(logs)) == 1
    status, _ = await api.request("DELETE", f"{RECS}/{rec_id}")
    assert status == 200  # not 409: it is final


async def test_asterisk_not_answering_fails_it_and_the_sweep_cleans_the_spool(
    api: ApiHarness,
) -> None:
    conf_id, rec_id = await started(api)
    await api.ari.end_recording(rec_id, notify=False)  # ended, stored, event lost
    api.ari.recordings_unreachable = True  # and Asterisk stops answering
    with capture_logs() as logs:
        status, _ = await api.request("DELETE", f"{CONF}/{conf_id}")  # conference ends
        assert status == 200
        rec = await final(api, rec_id)
    assert rec["status"] == "failed" and rec["reason"] == "asterisk_unavailable", rec
    assert len(api.ari.called("get_live_recording")) == record_end.FINISH_ATTEMPTS
    given_up = [e for e in logs if e["event"].startswith("recording given up")]
    assert len(given_up) == 1 and len(finished_events(logs)) == 1
    _, conf = await api.request("GET", f"{CONF}/{conf_id}")
    assert conf["status"] == "terminated" and conf["recording_id"] is None
    assert rec_id in api.ari.stored_recordings  # could not be deleted yet
    api.ari.recordings_unreachable = False
    await api.engine.on_connect()  # Asterisk back: the reconcile sweeps the spool
    assert rec_id not in api.ari.stored_recordings
    assert (await final(api, rec_id))["status"] == "failed"  # stays as it was


async def test_deleting_a_given_up_recording_deletes_the_spool_copy(api: ApiHarness) -> None:
    conf_id, rec_id = await started(api)
    await api.ari.end_recording(rec_id, notify=False)
    api.ari.recordings_unreachable = True
    await api.request("DELETE", f"{CONF}/{conf_id}")
    assert (await final(api, rec_id))["reason"] == "asterisk_unavailable"
    api.ari.recordings_unreachable = False
    status, _ = await api.request("DELETE", f"{RECS}/{rec_id}")
    assert status == 200 and rec_id not in api.ari.stored_recordings


async def test_file_not_fetched_is_tried_again(api: ApiHarness) -> None:
    """RecordingFinished arrives while Asterisk's file cannot be read: not stuck."""
    _, rec_id = await started(api)
    api.ari.recordings_unreachable = True
    await api.ari.end_recording(rec_id)  # the event arrives, the GET of the file fails
    await api.engine.lanes.drain()
    assert (await api.store.get_recording(rec_id)).is_active  # type: ignore[union-attr]
    api.ari.recordings_unreachable = False
    rec = await final(api, rec_id)
    assert rec["status"] == "finished" and rec["duration_ms"] == 1000


async def test_file_never_fetched_is_given_up(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asterisk answers, but its file cannot be read (a 500 every time): bounded."""

    async def broken(name: str) -> bytes:
        raise AriError(500, "GET", f"/recordings/stored/{name}/file", "Internal Server Error")

    monkeypatch.setattr(api.ari, "stored_recording_file", broken)
    _, rec_id = await started(api)
    await api.ari.end_recording(rec_id)
    rec = await final(api, rec_id)
    assert rec["status"] == "failed" and rec["reason"] == "asterisk_unavailable", rec
    assert len(api.ari.called("get_live_recording")) == record_end.FINISH_ATTEMPTS


async def test_conference_deleted_while_recording_an_empty_room(api: ApiHarness) -> None:
    api.ari.notify_recordings = False
    conf_id, rec_id = await started(api)
    status, body = await api.request("DELETE", f"{CONF}/{conf_id}")
    assert status == 200 and body["status"] == "terminated"
    rec = await final(api, rec_id)
    assert rec["status"] == "finished"
    status, _ = await api.request("DELETE", f"{RECS}/{rec_id}")
    assert status == 200


async def test_stop_refused_during_termination_is_tried_again(api: ApiHarness) -> None:
    conf_id, rec_id = await started(api)
    api.ari.fail_stop_recording = True  # the termination's stop fails once
    await api.request("DELETE", f"{CONF}/{conf_id}")
    await api.engine.lanes.drain()
    api.ari.fail_stop_recording = False
    rec = await final(api, rec_id)
    assert rec["status"] == "finished", rec
    assert len(api.ari.called("stop_live_recording")) == 2


async def test_recording_failed_event_gives_its_reason(api: ApiHarness) -> None:
    _, rec_id = await started(api)
    await api.ari.end_recording(rec_id, failed=True)
    rec = await final(api, rec_id)
    assert rec["status"] == "failed" and rec["reason"] == "asterisk_failed"


async def test_no_stored_file_gives_no_file(api: ApiHarness) -> None:
    _, rec_id = await started(api)
    api.ari.live_recordings.clear()  # Asterisk restarted: neither live nor stored
    await api.engine.on_connect()
    rec = await final(api, rec_id)
    assert rec["status"] == "failed" and rec["reason"] == "no_file"
