"""Participant control over HTTP (fake ARI): the member routes on /v1/conferencecalls/{id}
and the conference options on /v1/conferences, with every error path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from confsvc.api import schemas
from tests.support.fake_ari import ApiHarness, api_harness


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    async with api_harness(tmp_path) as h:
        yield h


async def test_mute_deaf_roundtrip(api: ApiHarness) -> None:
    await api.create(room="r1")
    call_id = await api.dial_in("r1")
    base = f"/v1/conferencecalls/{call_id}"
    status, body = await api.request("POST", f"{base}/mute")
    assert status == 200 and body["muted"] is True and body["deaf"] is False
    schemas.Conferencecall.model_validate(body)
    status, body = await api.request("POST", f"{base}/deaf", json={})
    assert status == 200 and body["deaf"] is True and body["muted"] is True
    _, got = await api.request("GET", base)
    assert (got["muted"], got["deaf"], got["role"], got["talking"]) == (
        True,
        True,
        "participant",
        False,
    )
    status, body = await api.request("DELETE", f"{base}/mute")
    assert status == 200 and body["muted"] is False
    status, body = await api.request("DELETE", f"{base}/deaf")
    assert status == 200 and body["deaf"] is False
    channel = body["reference_id"]
    assert [a for a, _ in api.ari.called("mute")] == [(channel, "in"), (channel, "out")]
    assert [a for a, _ in api.ari.called("unmute")] == [(channel, "in"), (channel, "out")]


async def test_play(api: ApiHarness) -> None:
    await api.create(room="r1")
    call_id = await api.dial_in("r1")
    status, body = await api.request(
        "POST", f"/v1/conferencecalls/{call_id}/play", json={"media": "beep:1"}
    )
    assert status == 200 and body["id"] == call_id
    assert api.ari.called("play_on_channel")[-1][0][1] == ["sound:beep"]
    status, _ = await api.request("DELETE", f"/v1/conferencecalls/{call_id}/play")
    assert status == 200 and len(api.ari.called("stop_playback")) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"media": "beep:9"}, "media"),
        ({"media": "ftp://x/a.wav"}, "media"),
        ({"media": ""}, "media"),
        ({"media": 5}, "media"),
        ({}, "media"),
        ({"media": "beep:1", "volume": 3}, "volume"),
    ],
)
async def test_play_422_names_the_field(api: ApiHarness, body: dict[str, Any], field: str) -> None:
    await api.create(room="r1")
    call_id = await api.dial_in("r1")
    status, err = await api.request("POST", f"/v1/conferencecalls/{call_id}/play", json=body)
    assert status == 422 and err["error"] == "invalid_field" and err["field"] == field, err


async def test_member_routes_404_409_400(api: ApiHarness) -> None:
    await api.create(room="r1")
    call_id = await api.dial_in("r1")
    base = f"/v1/conferencecalls/{call_id}"
    for method, action in (("POST", "mute"), ("DELETE", "deaf"), ("DELETE", "play")):
        status, err = await api.request(method, f"{base}/{action}", token="tok-b")
        assert status == 404 and err["error"] == "conferencecall_not_found", err
    status, err = await api.request("POST", "/v1/conferencecalls/nope/mute")
    assert status == 404
    status, err = await api.request("POST", f"{base}/mute", json={"x": 1})
    assert status == 422 and err["field"] == "x"
    status, err = await api.request("POST", f"{base}/mute", params={"loud": "1"})
    assert status == 400
    await api.request("DELETE", base)  # kick
    await api.engine.settle()
    for method, action, body in (
        ("POST", "mute", None),
        ("DELETE", "mute", None),
        ("POST", "deaf", None),
        ("POST", "play", {"media": "beep:1"}),
    ):
        status, err = await api.request(method, f"{base}/{action}", json=body)
        assert status == 409 and err["error"] == "conferencecall_invalid_state", err
        assert "leaved" in err["message"]


async def test_asterisk_down_is_503(api: ApiHarness) -> None:
    await api.create(room="r1")
    call_id = await api.dial_in("r1")
    api.ari.fail_member_ops = True
    status, err = await api.request("POST", f"/v1/conferencecalls/{call_id}/mute")
    assert status == 503 and err["error"] == "asterisk_unavailable"
    _, got = await api.request("GET", f"/v1/conferencecalls/{call_id}")
    assert got["muted"] is False


async def test_conference_options_at_creation(api: ApiHarness) -> None:
    body = await api.create(
        room="r1",
        enter_sound="beep:2",
        wait_for_moderator=True,
        moderator_pin="4321",
        digits_match="1,#2",
        time_limit=60,
    )
    schemas.Conference.model_validate(body)
    assert body["enter_sound"] == "beep:2" and body["moderator_pin"] == "4321"
    assert body["wait_for_moderator"] is True and body["stay_alone"] is True
    assert body["time_limit"] == 60 and body["floor_conferencecall_id"] is None
    _, got = await api.request("GET", f"/v1/conferences/{body['id']}")
    assert got["digits_match"] == "1,#2"
    status, err = await api.request("PUT", f"/v1/conferences/{body['id']}", json={"time_limit": 5})
    assert status == 422 and err["field"] == "time_limit" and "creation" in err["message"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"enter_sound": "no such sound"}, "enter_sound"),
        ({"exit_sound": "beep:0"}, "exit_sound"),
        ({"start_muted": "yes"}, "start_muted"),
        ({"wait_for_moderator": True}, "wait_for_moderator"),
        ({"end_on_moderator_exit": True, "pin": "1"}, "end_on_moderator_exit"),
        ({"stay_alone": 0}, "stay_alone"),
        ({"wait_sound": "beep:1"}, "wait_sound"),
        ({"time_limit": -1}, "time_limit"),
        ({"time_limit": "60"}, "time_limit"),
        ({"hangup_on_star": None}, "hangup_on_star"),
        ({"digits_match": "12x"}, "digits_match"),
        ({"relay_dtmf": "true"}, "relay_dtmf"),
        ({"floor_events": 1}, "floor_events"),
        ({"pin": "abc"}, "pin"),
        ({"pin": "1", "moderator_pin": "1"}, "moderator_pin"),
    ],
)
async def test_bad_options_are_422_with_their_field(
    api: ApiHarness, fields: dict[str, Any], field: str
) -> None:
    status, err = await api.request(
        "POST", "/v1/conferences", json={"type": "conference", **fields}
    )
    assert status == 422 and err["error"] == "invalid_field" and err["field"] == field, err
    assert api.ari.called("create_bridge") == []


async def test_openapi_documents_the_member_routes(api: ApiHarness) -> None:
    _, doc = await api.request("GET", "/v1/openapi.json", token=None)
    paths = doc["paths"]
    for action in ("mute", "deaf", "play"):
        assert set(paths[f"/v1/conferencecalls/{{id}}/{action}"]) == {"post", "delete"}
    play = paths["/v1/conferencecalls/{id}/play"]["post"]
    assert play["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PlayRequest"
    }
    props = doc["components"]["schemas"]["ConferenceCreate"]["properties"]
    assert {"pin", "moderator_pin", "wait_sound", "digits_match"} <= set(props)
    assert "waiting_for" in doc["components"]["schemas"]["Conferencecall"]["properties"]
    assert "/v1/Account/{auth_id}/Conference/{name}/Member/{member_id}/Mute/" in paths
