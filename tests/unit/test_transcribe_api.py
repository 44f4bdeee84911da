"""Transcription over HTTP: real app, Engine and SqliteStore, fake ARI, and a fake speech
backend that speaks English only (the real model is proven in tests/e2e/test_transcribe.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from confsvc.api import schemas, transcribes
from confsvc.engine import transcribe
from confsvc.transcribe.service import Transcription
from confsvc.transcribe.vad import Utterance
from tests.support.fake_ari import ApiHarness, api_harness

CONF = "/v1/conferences"
TXS = "/v1/transcribes"


class EnglishOnly:
    name = "local"

    def __init__(self) -> None:
        self.heard: list[tuple[bytes, str]] = []

    async def languages(self) -> frozenset[str] | None:
        return frozenset({"en"})

    async def transcribe(self, pcm: bytes, language: str) -> str:
        self.heard.append((pcm, language))
        return "hello there"

    async def close(self) -> None:
        return None


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    async with api_harness(tmp_path) as h:
        eng = h.engine
        eng.transcription = Transcription(h.settings, h.ari, eng.outbound, backend=EnglishOnly())  # type: ignore[arg-type]
        yield h


async def start(api: ApiHarness, conf_id: str, token: str = "tok-a", **body: Any) -> Any:
    path = f"{CONF}/{conf_id}/transcribe_start"
    return await api.request("POST", path, token=token, json=body)


async def stop(api: ApiHarness, conf_id: str, token: str = "tok-a") -> Any:
    return await api.request("POST", f"{CONF}/{conf_id}/transcribe_stop", token=token)


def logged(logs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == kind]


async def test_start_stop_and_the_transcribe_resource(api: ApiHarness) -> None:
    conf = await api.create()
    with capture_logs() as logs:
        status, body = await start(api, conf["id"], language="en-US")
    assert status == 200, body
    schemas.Conference.model_validate(body)
    tx_id = body["transcribe_id"]
    assert tx_id and body["transcribe_ids"] == [tx_id]
    assert logged(logs, "transcribe_started")
    # one at a time (seed), 409 with the conference's code
    status, err = await start(api, conf["id"], language="en-US")
    assert status == 409 and err["error"] == "conference_invalid_state"
    status, tx = await api.request("GET", f"{TXS}/{tx_id}")
    assert status == 200 and tx["status"] == "progressing" and tx["language"] == "en-US"
    transcribes.Transcribe.model_validate(tx)
    status, err = await api.request("DELETE", f"{TXS}/{tx_id}")
    assert status == 409 and err["error"] == "transcribe_invalid_state"
    # another tenant sees nothing
    for method, path in (("GET", f"{TXS}/{tx_id}"), ("GET", f"{TXS}/{tx_id}/transcripts")):
        status, err = await api.request(method, path, token="tok-b")
        assert status == 404 and err["error"] == "transcribe_not_found"
    status, page = await api.request("GET", TXS, token="tok-b")
    assert status == 200 and page["result"] == []
    status, err = await stop(api, conf["id"], token="tok-b")
    assert status == 404
    status, body = await stop(api, conf["id"])
    assert status == 200 and body["transcribe_id"] is None and body["transcribe_ids"] == [tx_id]
    status, err = await stop(api, conf["id"])
    assert status == 409 and err["error"] == "conference_invalid_state"
    status, page = await api.request("GET", TXS, params={"conference_id": conf["id"]})
    assert status == 200 and [t["id"] for t in page["result"]] == [tx_id]
    assert page["result"][0]["status"] == "done" and page["result"][0]["tm_end"]
    transcribes.TranscribeList.model_validate(page)
    status, gone = await api.request("DELETE", f"{TXS}/{tx_id}")
    assert status == 200 and gone["id"] == tx_id
    status, _ = await api.request("GET", f"{TXS}/{tx_id}")
    assert status == 404


async def test_language_is_required_and_must_be_spoken_by_the_model(api: ApiHarness) -> None:
    conf = await api.create()
    status, err = await start(api, conf["id"])
    assert status == 422 and err["error"] == "invalid_field" and err["field"] == "language"
    status, err = await start(api, conf["id"], language="fr-FR")
    assert status == 422 and err["field"] == "language" and "fr-FR" in err["message"]
    status, err = await start(api, conf["id"], language="not a tag")
    assert status == 422 and err["field"] == "language"
    status, err = await start(api, "nope", language="en-US")
    assert status == 404 and err["error"] == "conference_not_found"
    status, err = await api.request("POST", CONF, json={"type": "conference", "transcribe": True})
    assert status == 422 and err["field"] == "transcribe_language"
    status, err = await api.request(
        "POST",
        CONF,
        json={"type": "conference", "transcribe": True, "transcribe_language": "de"},
    )
    assert status == 422 and err["field"] == "transcribe_language"


async def test_joined_callers_get_legs_and_segments_become_events(api: ApiHarness) -> None:
    conf = await api.create(room="talk")
    call_id = await api.dial_in("talk", name="Alice", number="1001")
    status, body = await start(api, conf["id"], language="en")
    assert status == 200, body
    tx_id = body["transcribe_id"]
    call = await api.engine.conferencecall(call_id)
    assert call is not None
    snoops = api.ari.called("snoop")
    assert [(a[0], k["spy"]) for a, k in snoops] == [(call.reference_id, "in")]
    assert api.engine.transcription.legs.has(call_id)
    # a finished utterance's text: stored and published
    tx = await api.store.get_transcribe(tx_id)
    assert tx is not None
    with capture_logs() as logs:
        await transcribe._segment(
            api.engine, tx, call, Utterance(b"\0\0" * 16000, 1000.0, 1001.5), "hello there"
        )
    (event,) = logged(logs, "transcript_created")
    assert event["conference_id"] == conf["id"]
    status, page = await api.request("GET", f"{TXS}/{tx_id}/transcripts")
    assert status == 200, page
    transcribes.TranscriptList.model_validate(page)
    (seg,) = page["result"]
    assert seg["conferencecall_id"] == call_id and seg["text"] == "hello there"
    assert (seg["start_ms"], seg["end_ms"]) == (1_000_000, 1_001_500)
    assert seg["caller"] == {"number": "1001", "name": "Alice"}
    # the conference ends: the transcription with it, the leg hung up
    status, _ = await api.request("DELETE", f"{CONF}/{conf['id']}")
    assert status == 200
    await api.engine.settle()
    status, tx_json = await api.request("GET", f"{TXS}/{tx_id}")
    assert tx_json["status"] == "done"
    assert not api.engine.transcription.legs.has(call_id)


async def test_transcribe_true_starts_at_the_first_join(api: ApiHarness) -> None:
    conf = await api.create(room="auto", transcribe=True, transcribe_language="en-GB")
    assert conf["transcribe"] is True and conf["transcribe_id"] is None
    await api.dial_in("auto")
    await api.engine.settle()
    status, body = await api.request("GET", f"{CONF}/{conf['id']}")
    assert status == 200 and body["transcribe_id"] and body["transcribe_language"] == "en-GB"


async def test_a_model_that_cannot_load_is_503_and_nothing_starts(api: ApiHarness) -> None:
    settings = api.settings.model_copy(update={"transcribe_model": "/nonexistent/model"})
    eng = api.engine
    eng.transcription = Transcription(settings, api.ari, eng.outbound)  # type: ignore[arg-type]
    conf = await api.create()
    status, err = await start(api, conf["id"], language="en-US")
    assert status == 503 and err["error"] == "transcription_unavailable", err
    status, body = await api.request("GET", f"{CONF}/{conf['id']}")
    assert body["transcribe_id"] is None and body["transcribe_ids"] == []
