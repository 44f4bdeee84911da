"""The Plivo routes' SDK leniency and the new Speak / Record routes over HTTP with the fake
ARI: the SDK's extra parameters ignored, wrong values of known ones refused, speech that
cannot be made a clean 503, recording start/stop. (Speech itself: tests/e2e/test_plivo_sdk.py,
with real espeak-ng, Asterisk and phones.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from confsvc.speech import SpeechError, check
from tests.support.fake_ari import ApiHarness, api_harness

ROOT = "/v1/Account/cust-a/Conference/"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    # No runtime to make speech in: a root that does not exist.
    async with api_harness(tmp_path, runtime_root=str(tmp_path / "no-root")) as h:
        yield h


async def no_body(api: ApiHarness, method: str, path: str) -> int:
    """The status of a request answered without a body (204)."""
    async with api.client.request(method, path, headers={"Authorization": "Bearer tok-a"}) as r:
        assert await r.read() == b""
        return r.status


async def test_the_sdks_extra_parameters_are_ignored(api: ApiHarness) -> None:
    await api.create(room="board")
    a = await api.dial_in("board", name="Ann", number="2002")
    status, body = await api.request("GET", ROOT + "board/?conference_name=board")
    assert status == 200 and body["conference_member_count"] == "1"
    status, body = await api.request(
        "POST", f"{ROOT}board/Member/{a}/Mute/", json={"conference_name": "board", "member_id": a}
    )
    assert status == 202 and body["member_id"] == [a]
    status, body = await api.request("GET", ROOT + "board/?page_sise=3")
    assert status == 400 and body["field"] == "page_sise"  # unknown: still refused
    status, body = await api.request(
        "POST", f"{ROOT}board/Member/{a}/Mute/", json={"colour": "red"}
    )
    assert status == 422 and body["field"] == "colour"
    status, body = await api.request(  # ignored, yet not anything at all (schemathesis)
        "POST", f"{ROOT}board/Member/{a}/Mute/", json={"member_id": [[], False]}
    )
    assert status == 422 and body["field"] == "member_id"


async def test_speak_checks_its_values_and_says_when_it_cannot_speak(api: ApiHarness) -> None:
    await api.create(room="board")
    a = await api.dial_in("board", name="Ann", number="2002")
    path = f"{ROOT}board/Member/{a}/Speak/"
    for body, field in (
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "hi", "voice": "ROBOT"}, "voice"),
        ({"text": "hi", "language": "english please"}, "language"),
        ({"text": "x" * 1001}, "text"),
    ):
        status, err = await api.request("POST", path, json=body)
        assert status == 422 and err["field"] == field, (body, err)
    status, err = await api.request("POST", path, json={"text": "hello"})
    assert status == 503 and err["error"] == "speech_unavailable", err
    assert await no_body(api, "DELETE", path) == 204


def test_check_normalizes() -> None:
    assert check("Hi", "en-US", "man") == ("Hi", "en-us", "MAN")
    with pytest.raises(SpeechError):
        check(3, "en-US", "MAN")


async def test_record_start_and_stop(api: ApiHarness) -> None:
    await api.create(room="board")
    await api.dial_in("board", name="Ann", number="2002")
    status, err = await api.request("POST", ROOT + "board/Record/", json={"file_format": "ogg"})
    assert status == 422 and err["field"] == "file_format"
    status, body = await api.request(
        "POST", ROOT + "board/Record/", json={"file_format": "wav", "transcription_type": "auto"}
    )
    assert status == 202 and body["recording_id"], body
    assert body["url"] == f"/v1/recordings/{body['recording_id']}/file"
    status, rec = await api.request("GET", f"/v1/recordings/{body['recording_id']}")
    assert status == 200 and rec["format"] == "wav"
    assert await no_body(api, "DELETE", ROOT + "board/Record/") == 204
    status, err = await api.request("POST", ROOT + "nosuch/Record/")
    assert status == 404 and err["error"] == "conference_not_found"
