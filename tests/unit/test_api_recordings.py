"""Recording over HTTP: real app, real Engine, real SqliteStore, fake ARI (which stores a
1 s 440 Hz WAV for every stopped recording and plays back RecordingFinished)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from confsvc.api import schemas
from confsvc.ari import LiveRecording
from confsvc.engine import Engine, audio, record
from confsvc.events import wiring as events_wiring
from tests.support.fake_ari import ApiHarness, api_harness, tone_wav

CONF = "/v1/conferences"
RECS = "/v1/recordings"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    async with api_harness(tmp_path) as h:
        yield h


async def start(api: ApiHarness, conf_id: str, token: str = "tok-a", **body: Any) -> Any:
    return await api.request("POST", f"{CONF}/{conf_id}/recording_start", token=token, json=body)


async def stop(api: ApiHarness, conf_id: str, token: str = "tok-a") -> Any:
    return await api.request("POST", f"{CONF}/{conf_id}/recording_stop", token=token)


async def download(api: ApiHarness, rec: dict[str, Any], token: str = "tok-a") -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    async with api.client.get(rec["download_url"], headers=headers) as resp:
        return resp.status, resp.headers.get("Content-Type"), await resp.read()


async def recording(api: ApiHarness, rec_id: str) -> dict[str, Any]:
    status, body = await api.request("GET", f"{RECS}/{rec_id}")
    assert status == 200, body
    schemas.Recording.model_validate(body)
    return body  # type: ignore[no-any-return]


def events(logs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The logged events of a type, each with its data (logged apart, at debug level)."""
    data = {e["event_id"]: e["data"] for e in logs if e["event"] == "event data"}
    return [{**e, "data": data.get(e["event_id"])} for e in logs if e["event"] == kind]


# --- start -------------------------------------------------------------------------------


async def test_start_records_the_bridge_as_wav(api: ApiHarness) -> None:
    conf = await api.create()
    with capture_logs() as logs:
        status, body = await start(api, conf["id"])
    assert status == 200, body
    schemas.Conference.model_validate(body)
    rec_id = body["recording_id"]
    assert rec_id and body["recording_ids"] == [rec_id]
    ((args, kwargs),) = api.ari.called("record_bridge")
    assert args == (conf["id"], rec_id)  # recording name = recording id
    assert kwargs == {
        "format": "wav",
        "max_duration_seconds": 86400,  # none given: the seed's 24 h maximum (issue 19)
        "beep": False,
        "if_exists": "fail",
    }
    rec = await recording(api, rec_id)
    assert rec["status"] == "recording" and rec["format"] == "wav"
    assert rec["download_url"] is None and rec["customer_id"] == "cust-a"
    assert rec["conference_id"] == conf["id"] and rec["max_duration"] == 86400
    (started,) = events(logs, "recording_started")
    assert started["customer_id"] == "cust-a" and started["data"]["id"] == rec_id


async def test_start_without_a_body_takes_defaults(api: ApiHarness) -> None:
    conf = await api.create()
    async with api.client.post(
        f"{CONF}/{conf['id']}/recording_start", headers={"Authorization": "Bearer tok-a"}
    ) as resp:
        assert resp.status == 200
        assert (await resp.json())["recording_id"]


async def test_start_mp3_with_limit_and_beep_still_records_wav(api: ApiHarness) -> None:
    conf = await api.create()
    status, body = await start(api, conf["id"], format="mp3", max_duration=60, beep=True)
    assert status == 200
    ((_, kwargs),) = api.ari.called("record_bridge")
    assert kwargs["format"] == "wav" and kwargs["max_duration_seconds"] == 60 and kwargs["beep"]
    rec = await recording(api, body["recording_id"])
    assert rec["format"] == "mp3" and rec["max_duration"] == 60


async def test_only_one_active_recording(api: ApiHarness) -> None:
    conf = await api.create()
    await start(api, conf["id"])
    status, body = await start(api, conf["id"])
    assert status == 409 and body["error"] == "conference_invalid_state"
    assert "already active" in body["message"]
    assert len(api.ari.called("record_bridge")) == 1


async def test_start_needs_progressing(api: ApiHarness) -> None:
    conf = await api.create()
    await api.request("DELETE", f"{CONF}/{conf['id']}")
    status, body = await start(api, conf["id"])
    assert status == 409 and body["error"] == "conference_invalid_state"
    assert api.ari.called("record_bridge") == []


async def test_unknown_or_other_tenants_conference_is_404(api: ApiHarness) -> None:
    conf = await api.create()
    for conf_id, token in ((conf["id"], "tok-b"), ("nope", "tok-a")):
        status, body = await start(api, conf_id, token=token)
        assert status == 404 and body["error"] == "conference_not_found"
        status, body = await stop(api, conf_id, token=token)
        assert status == 404 and body["error"] == "conference_not_found"
    assert api.ari.called("record_bridge") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "ogg"}, "format"),
        ({"max_duration": -1}, "max_duration"),
        ({"max_duration": 86401}, "max_duration"),
        ({"max_duration": "5"}, "max_duration"),
        ({"max_duration": 1.5}, "max_duration"),
        ({"beep": "yes"}, "beep"),
        ({"beep": 1}, "beep"),
        ({"duration": 5}, "duration"),
    ],
)
async def test_bad_values_are_422(api: ApiHarness, body: dict[str, Any], field: str) -> None:
    conf = await api.create()
    status, got = await start(api, conf["id"], **body)
    assert status == 422, got
    assert got["error"] == "invalid_field" and got["field"] == field
    assert api.ari.called("record_bridge") == []


async def test_bad_values_win_over_state_and_tenant(api: ApiHarness) -> None:
    """Validation first: a 422 says nothing about whether the conference exists."""
    status, got = await start(api, "nope", max_duration=-1)
    assert status == 422 and got["field"] == "max_duration"


async def test_asterisk_refusing_is_503_and_changes_nothing(api: ApiHarness) -> None:
    conf = await api.create()
    api.ari.fail_record = True
    status, body = await start(api, conf["id"])
    assert status == 503 and body["error"] == "asterisk_unavailable"
    _, got = await api.request("GET", f"{CONF}/{conf['id']}")
    assert got["recording_id"] is None and got["recording_ids"] == []
    _, listed = await api.request("GET", RECS)
    assert listed["result"] == []
    api.ari.fail_record = False
    status, _ = await start(api, conf["id"])
    assert status == 200


# --- stop --------------------------------------------------------------------------------


async def test_stop_finalizes_and_serves_the_wav(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"])
    rec_id = started["recording_id"]
    with capture_logs() as logs:
        status, body = await stop(api, conf["id"])
    assert status == 200
    assert body["recording_id"] is None and body["recording_ids"] == [rec_id]
    assert api.ari.called("stop_live_recording") == [((rec_id,), {})]
    rec = await recording(api, rec_id)
    assert rec["status"] == "finished" and rec["duration_ms"] == 1000
    assert rec["download_url"] == f"{RECS}/{rec_id}/file"
    assert rec["end_ms"] > rec["start_ms"]
    code, ctype, data = await download(api, rec)
    assert code == 200 and ctype == "audio/wav"
    assert rec["size_bytes"] == len(data)
    assert audio.parse_wav(data) == audio.parse_wav(tone_wav(1.0))
    # Asterisk's copy was fetched once and deleted; ours lives in the data dir.
    assert api.ari.called("stored_recording_file") == [((rec_id,), {})]
    assert rec_id not in api.ari.stored_recordings
    assert (api.settings.recordings_dir / f"{rec_id}.wav").is_file()
    (finished,) = events(logs, "recording_finished")
    assert finished["data"]["status"] == "finished" and finished["customer_id"] == "cust-a"


async def test_stop_with_none_active_is_409(api: ApiHarness) -> None:
    conf = await api.create()
    status, body = await stop(api, conf["id"])
    assert status == 409 and body["error"] == "conference_invalid_state"
    await start(api, conf["id"])
    await stop(api, conf["id"])
    status, body = await stop(api, conf["id"])
    assert status == 409


async def test_stop_body_must_be_empty(api: ApiHarness) -> None:
    conf = await api.create()
    await start(api, conf["id"])
    status, body = await api.request(
        "POST", f"{CONF}/{conf['id']}/recording_stop", json={"now": True}
    )
    assert status == 422 and body["field"] == "now"
    status, _ = await api.request("POST", f"{CONF}/{conf['id']}/recording_stop", json={})
    assert status == 200


async def test_mp3_is_encoded(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"], format="mp3")
    await stop(api, conf["id"])
    rec = await recording(api, started["recording_id"])
    assert rec["status"] == "finished" and rec["duration_ms"] == 1000
    code, ctype, data = await download(api, rec)
    assert code == 200 and ctype == "audio/mpeg"
    assert data[0] == 0xFF and data[1] & 0xE0 == 0xE0  # an MPEG audio frame, not RIFF
    assert rec["size_bytes"] == len(data) < len(tone_wav(1.0)) / 3


async def test_stop_is_503_when_asterisk_refuses(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"])
    api.ari.fail_stop_recording = True
    status, body = await stop(api, conf["id"])
    assert status == 503 and body["error"] == "asterisk_unavailable"
    _, got = await api.request("GET", f"{CONF}/{conf['id']}")
    assert got["recording_id"] == started["recording_id"]  # nothing changed
    api.ari.fail_stop_recording = False
    status, _ = await stop(api, conf["id"])
    assert status == 200


async def test_stop_answers_even_when_the_file_is_late(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(record, "STOP_WAIT_SECONDS", 0.05)
    api.ari.auto_finish = False  # Asterisk is slow to send RecordingFinished
    conf = await api.create()
    _, started = await start(api, conf["id"])
    rec_id = started["recording_id"]
    status, body = await stop(api, conf["id"])
    assert status == 200 and body["recording_id"] is None
    assert (await recording(api, rec_id))["status"] == "recording"
    await api.ari.end_recording(rec_id)
    await api.engine.settle()
    assert (await recording(api, rec_id))["status"] == "finished"
    assert api.engine.recording_waiters == {}


async def test_a_new_recording_after_stop_keeps_history(api: ApiHarness) -> None:
    conf = await api.create()
    _, first = await start(api, conf["id"])
    await stop(api, conf["id"])
    _, second = await start(api, conf["id"], format="mp3")
    assert second["recording_ids"] == [first["recording_id"], second["recording_id"]]


# --- ended by Asterisk or by the conference ------------------------------------------------


async def test_asterisk_ending_it_finalizes(api: ApiHarness) -> None:
    """max_duration in Asterisk, or the bridge going away: RecordingFinished unasked."""
    conf = await api.create()
    _, started = await start(api, conf["id"])
    rec_id = started["recording_id"]
    await api.ari.end_recording(rec_id)
    await api.engine.settle()
    rec = await recording(api, rec_id)
    assert rec["status"] == "finished"
    assert rec["end_ms"] == 1893456005000  # from the event's timestamp
    _, got = await api.request("GET", f"{CONF}/{conf['id']}")
    assert got["recording_id"] is None and got["recording_ids"] == [rec_id]


async def test_recording_failed_event(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"])
    rec_id = started["recording_id"]
    with capture_logs() as logs:
        await api.ari.end_recording(rec_id, failed=True)
        await api.engine.settle()
    rec = await recording(api, rec_id)
    assert rec["status"] == "failed" and rec["download_url"] is None
    _, got = await api.request("GET", f"{CONF}/{conf['id']}")
    assert got["recording_id"] is None
    status, body = await api.request("GET", f"{RECS}/{rec_id}/file")
    assert status == 409 and body["error"] == "recording_invalid_state"
    (finished,) = events(logs, "recording_finished")
    assert finished["data"]["status"] == "failed"
    status, _ = await start(api, conf["id"])  # a new one may start
    assert status == 200


async def test_events_of_unknown_recordings_are_ignored(api: ApiHarness) -> None:
    api.ari.live_recordings["not-ours"] = LiveRecording(name="not-ours", state="recording")
    await api.ari.end_recording("not-ours")
    await api.engine.settle()
    assert api.ari.called("stored_recording_file") == []


async def test_max_duration_stops_on_time_and_cuts_the_overrun(api: ApiHarness) -> None:
    api.ari.recording_audio = tone_wav(1.8)  # Asterisk checks whole seconds: it overran
    conf = await api.create()
    _, started = await start(api, conf["id"], max_duration=1)
    rec_id = started["recording_id"]
    for _ in range(300):
        await asyncio.sleep(0.01)
        await api.engine.settle()
        if api.ari.called("stop_live_recording"):
            break
    await api.engine.settle()
    assert api.ari.called("stop_live_recording") == [((rec_id,), {})]
    rec = await recording(api, rec_id)
    assert rec["status"] == "finished" and rec["duration_ms"] == 1000
    _, got = await api.request("GET", f"{CONF}/{conf['id']}")
    assert got["recording_id"] is None


async def test_terminating_the_conference_stops_the_recording(api: ApiHarness) -> None:
    conf = await api.create(room="rec.term")
    await api.dial_in("rec.term")
    _, started = await start(api, conf["id"])
    rec_id = started["recording_id"]
    status, body = await api.request("DELETE", f"{CONF}/{conf['id']}")
    assert status == 200 and body["recording_id"] is None
    await api.engine.settle()
    assert api.ari.called("stop_live_recording") == [((rec_id,), {})]
    rec = await recording(api, rec_id)
    assert rec["status"] == "finished"
    _, got = await api.request("GET", f"{CONF}/{conf['id']}")
    assert got["status"] == "terminated" and got["recording_ids"] == [rec_id]


# --- record at start ---------------------------------------------------------------------


async def test_record_true_starts_on_the_first_join_only(api: ApiHarness) -> None:
    conf = await api.create(room="auto.rec", record=True, record_format="mp3")
    assert conf["record"] is True and conf["record_format"] == "mp3"
    assert conf["recording_id"] is None  # nobody joined yet
    assert api.ari.called("record_bridge") == []
    with capture_logs() as logs:
        await api.dial_in("auto.rec", name="Alice")
    _, got = await api.request("GET", f"{CONF}/{conf['id']}")
    rec_id = got["recording_id"]
    assert rec_id and events(logs, "recording_started")
    assert (await recording(api, rec_id))["format"] == "mp3"
    await api.dial_in("auto.rec", name="Bob")
    assert len(api.ari.called("record_bridge")) == 1
    await stop(api, conf["id"])
    await api.dial_in("auto.rec", name="Carol")  # stopped by hand: stays stopped
    assert len(api.ari.called("record_bridge")) == 1


async def test_record_true_tries_again_when_asterisk_refused(api: ApiHarness) -> None:
    conf = await api.create(room="auto.retry", record=True)
    api.ari.fail_record = True
    await api.dial_in("auto.retry")
    _, got = await api.request("GET", f"{CONF}/{conf['id']}")
    assert got["recording_id"] is None and got["recording_ids"] == []
    api.ari.fail_record = False
    await api.dial_in("auto.retry", name="Bob")
    _, got = await api.request("GET", f"{CONF}/{conf['id']}")
    assert got["recording_id"] is not None


@pytest.mark.parametrize(
    ("body", "field"), [({"record": "yes"}, "record"), ({"record_format": "ogg"}, "record_format")]
)
async def test_record_fields_are_validated(
    api: ApiHarness, body: dict[str, Any], field: str
) -> None:
    status, got = await api.request("POST", CONF, json={"type": "conference", **body})
    assert status == 422 and got["field"] == field


async def test_record_fields_are_immutable(api: ApiHarness) -> None:
    conf = await api.create()
    status, got = await api.request("PUT", f"{CONF}/{conf['id']}", json={"record": True})
    assert status == 422 and got["field"] == "record"


# --- the recordings resource ---------------------------------------------------------------


async def test_list_filter_paging_and_tenants(api: ApiHarness) -> None:
    a = await api.create()
    b = await api.create()
    ids = []
    for conf in (a, b, a):
        _, started = await start(api, conf["id"])
        ids.append(started["recording_id"])
        await stop(api, conf["id"])
    other = await api.create(token="tok-b")
    await start(api, other["id"], token="tok-b")
    status, body = await api.request("GET", RECS, params={"page_size": "2"})
    assert status == 200
    schemas.RecordingList.model_validate(body)
    assert [r["id"] for r in body["result"]] == [ids[2], ids[1]]
    _, rest = await api.request(
        "GET", RECS, params={"page_size": "2", "page_token": body["next_page_token"]}
    )
    assert [r["id"] for r in rest["result"]] == [ids[0]] and rest["next_page_token"] is None
    _, only_a = await api.request("GET", RECS, params={"conference_id": a["id"]})
    assert [r["id"] for r in only_a["result"]] == [ids[2], ids[0]]
    _, theirs = await api.request("GET", RECS, token="tok-b")
    assert len(theirs["result"]) == 1 and theirs["result"][0]["customer_id"] == "cust-b"
    status, bad = await api.request("GET", RECS, params={"page_size": "0"})
    assert status == 422 and bad["field"] == "page_size"
    status, bad = await api.request("GET", RECS, params={"status": "finished"})
    assert status == 400  # unknown query parameter


async def test_other_tenant_sees_nothing(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"])
    rec_id = started["recording_id"]
    await stop(api, conf["id"])
    for method, path in (
        ("GET", f"{RECS}/{rec_id}"),
        ("GET", f"{RECS}/{rec_id}/file"),
        ("DELETE", f"{RECS}/{rec_id}"),
    ):
        status, body = await api.request(method, path, token="tok-b")
        assert status == 404 and body["error"] == "recording_not_found", (method, path)
    assert (await recording(api, rec_id))["status"] == "finished"


async def test_file_of_an_active_recording_is_409(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"])
    status, body = await api.request("GET", f"{RECS}/{started['recording_id']}/file")
    assert status == 409 and body["error"] == "recording_invalid_state"


async def test_file_gone_from_disk_is_404(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"])
    await stop(api, conf["id"])
    rec_id = started["recording_id"]
    (api.settings.recordings_dir / f"{rec_id}.wav").unlink()
    status, body = await api.request("GET", f"{RECS}/{rec_id}/file")
    assert status == 404 and body["error"] == "recording_not_found"


async def test_file_accepts_the_query_token(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"], format="mp3")
    await stop(api, conf["id"])
    url = f"{RECS}/{started['recording_id']}/file?token=tok-a"
    async with api.client.get(url) as resp:
        assert resp.status == 200 and resp.content_type == "audio/mpeg"
        assert "attachment" in resp.headers["Content-Disposition"]


async def test_delete(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"])
    rec_id = started["recording_id"]
    status, body = await api.request("DELETE", f"{RECS}/{rec_id}")
    assert status == 409 and body["error"] == "recording_invalid_state"
    await stop(api, conf["id"])
    path = api.settings.recordings_dir / f"{rec_id}.wav"
    assert path.is_file()
    status, body = await api.request("DELETE", f"{RECS}/{rec_id}")
    assert status == 200 and body["id"] == rec_id and body["status"] == "finished"
    assert not path.exists()
    for method in ("GET", "DELETE"):
        status, body = await api.request(method, f"{RECS}/{rec_id}")
        assert status == 404 and body["error"] == "recording_not_found"
    _, got = await api.request("GET", f"{CONF}/{conf['id']}")
    assert got["recording_ids"] == [rec_id]  # the conference's history keeps the id


async def test_delete_a_failed_recording(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"])
    await api.ari.end_recording(started["recording_id"], failed=True)
    await api.engine.settle()
    status, _ = await api.request("DELETE", f"{RECS}/{started['recording_id']}")
    assert status == 200


# --- controller restart --------------------------------------------------------------------


async def restarted(api: ApiHarness) -> Engine:
    """A new engine on the same store and Asterisk, reconciled as after a restart."""
    await api.engine.settle()
    await api.engine.close()
    bus = events_wiring.connect(api.store, api.settings)
    engine = Engine(api.settings, api.store, api.ari, bus=bus)  # type: ignore[arg-type]
    api.ari.engine = engine
    await engine.on_connect()
    return engine


async def test_restart_while_recording_then_stop(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"])
    rec_id = started["recording_id"]
    engine = await restarted(api)
    assert api.ari.called("get_live_recording") == [((rec_id,), {})]
    assert (await api.store.get_conference(conf["id"])).recording_id == rec_id  # type: ignore[union-attr]
    got = await engine.stop_recording("cust-a", conf["id"])
    assert got.recording_id is None
    rec = await api.store.get_recording(rec_id)
    assert rec is not None and rec.status.value == "finished"
    await engine.close()


async def test_restart_finalizes_a_recording_that_ended_meanwhile(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"], format="mp3")
    rec_id = started["recording_id"]
    await api.ari.end_recording(rec_id, notify=False)  # its event went nowhere
    engine = await restarted(api)
    rec = await api.store.get_recording(rec_id)
    assert rec is not None and rec.status.value == "finished" and rec.duration_ms == 1000
    conf_now = await api.store.get_conference(conf["id"])
    assert conf_now is not None and conf_now.recording_id is None
    assert (api.settings.recordings_dir / f"{rec_id}.mp3").is_file()
    await engine.close()


async def test_restart_with_the_file_lost_marks_it_failed(api: ApiHarness) -> None:
    """Asterisk restarted too: no live recording, no stored file."""
    conf = await api.create()
    _, started = await start(api, conf["id"])
    rec_id = started["recording_id"]
    api.ari.live_recordings.clear()
    engine = await restarted(api)
    rec = await api.store.get_recording(rec_id)
    assert rec is not None and rec.status.value == "failed"
    await engine.close()


async def test_restart_stops_a_recording_whose_conference_ended(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"])
    rec_id = started["recording_id"]
    stored = await api.store.get_conference(conf["id"])
    assert stored is not None
    ended, _ = stored.terminate(api.engine.now())  # ended while the controller was away
    await api.store.save_conference(ended)
    engine = await restarted(api)
    await engine.settle()
    assert api.ari.called("stop_live_recording") == [((rec_id,), {})]
    rec = await api.store.get_recording(rec_id)
    assert rec is not None and rec.status.value == "finished"
    await engine.close()


async def test_restart_rearms_max_duration(api: ApiHarness) -> None:
    conf = await api.create()
    _, started = await start(api, conf["id"], max_duration=1)
    rec_id = started["recording_id"]
    engine = await restarted(api)
    assert rec_id in engine.recording_conference
    for _ in range(300):
        await asyncio.sleep(0.01)
        await engine.settle()
        rec = await api.store.get_recording(rec_id)
        if rec is not None and rec.status.value != "recording":
            break
    assert api.ari.called("stop_live_recording") == [((rec_id,), {})]
    await engine.close()


# --- OpenAPI -------------------------------------------------------------------------------


async def test_openapi_documents_recording(api: ApiHarness) -> None:
    _, doc = await api.request("GET", "/v1/openapi.json", token=None)
    ops = doc["paths"]
    file_ok = ops["/v1/recordings/{id}/file"]["get"]["responses"]["200"]["content"]
    assert set(file_ok) == {"audio/wav", "audio/mpeg"}
    start_op = ops["/v1/conferences/{id}/recording_start"]["post"]
    assert set(start_op["responses"]) >= {"200", "404", "409", "422", "503"}
    body = start_op["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/RecordingStart"}
    assert set(ops["/v1/recordings/{id}"]["delete"]["responses"]) >= {"200", "404", "409"}
    listed = {p["name"] for p in ops["/v1/recordings"]["get"]["parameters"]}
    assert listed == {"page_size", "page_token", "conference_id"}
    comps = doc["components"]["schemas"]
    assert {"Recording", "RecordingList", "RecordingStart"} <= set(comps)
    assert comps["RecordingStart"]["properties"]["max_duration"]["maximum"] == 86400
    assert set(comps["Conference"]["properties"]) >= {"record", "record_format"}
