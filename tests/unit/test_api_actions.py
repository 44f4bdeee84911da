"""pre_actions / post_actions through the HTTP API: created, returned in the seed's shape,
stored, replaced by PUT; bad ones refused with 422 naming the field, nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from confsvc.api import schemas
from tests.support.fake_ari import ApiHarness, api_harness

GREETING = {"type": "talk", "text": "Welcome to the board meeting", "language": "en-US"}
SEED_TALK = {
    "id": "00000000-0000-0000-0000-000000000000",
    "next_id": "00000000-0000-0000-0000-000000000000",
    "type": "talk",
    "option": {"text": "Hello. Welcome to the test conference.", "language": "en-US"},
}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    async with api_harness(tmp_path) as h:
        yield h


async def create(api: ApiHarness, **fields: Any) -> tuple[int, dict[str, Any]]:
    return await api.request("POST", "/v1/conferences", json={"type": "conference", **fields})


async def test_actions_are_created_returned_and_stored_in_the_seed_shape(
    api: ApiHarness,
) -> None:
    status, body = await create(
        api,
        pre_actions=[GREETING, {"type": "beep"}, SEED_TALK],
        post_actions=[{"type": "play", "media": "sound:goodbye"}],
    )
    assert status == 201, body
    schemas.Conference.model_validate(body)
    assert body["pre_actions"] == [
        {
            "type": "talk",
            "option": {"text": GREETING["text"], "language": "en-US", "voice": "WOMAN"},
        },
        {"type": "beep", "option": {}},
        {"type": "talk", "option": {**SEED_TALK["option"], "voice": "WOMAN"}},
    ]
    assert body["post_actions"] == [{"type": "play", "option": {"media": "sound:goodbye"}}]
    stored = await api.store.get_conference(body["id"])
    assert stored is not None and stored.to_json("")["pre_actions"] == body["pre_actions"]
    status, listed = await api.request("GET", "/v1/conferences")
    assert listed["result"][0]["post_actions"] == body["post_actions"]


async def test_put_replaces_the_actions(api: ApiHarness) -> None:
    _, body = await create(api, pre_actions=[{"type": "beep"}])
    path = f"/v1/conferences/{body['id']}"
    status, got = await api.request("PUT", path, json={"post_actions": [{"type": "beep"}]})
    assert status == 200, got
    assert got["pre_actions"] == [{"type": "beep", "option": {}}]  # untouched
    assert got["post_actions"] == [{"type": "beep", "option": {}}]
    status, got = await api.request("PUT", path, json={"pre_actions": []})
    assert status == 200 and got["pre_actions"] == []


@pytest.mark.parametrize(
    ("actions", "field"),
    [
        ([{"type": "dance"}], "pre_actions[0].type"),
        ([{"type": "talk", "text": "x" * 1001}], "pre_actions[0].text"),
        ([{"type": "talk", "text": ""}], "pre_actions[0].text"),
        ([{"type": "talk", "text": "hi", "language": "not a language"}], "pre_actions[0].language"),
        ([{"type": "beep"}] * 11, "pre_actions"),
        ([{"type": "pause", "seconds": 30}, {"type": "pause", "seconds": 31}], "pre_actions"),
        ([{"type": "pause", "seconds": 0}], "pre_actions[0].seconds"),
        ([{"type": "beep"}, {"type": "play", "media": "ftp://x/y.wav"}], "pre_actions[1].media"),
        ([{"type": "play", "media": "sound:../../etc/passwd"}], "pre_actions[0].media"),
        ([{"type": "digits_receive", "length": 0, "timeout": 5}], "pre_actions[0].length"),
        ([{"type": "digits_receive", "length": 4}], "pre_actions[0].timeout"),
        ([{"type": "beep", "loud": True}], "pre_actions[0].loud"),
        ([{"type": "beep", "option": []}], "pre_actions[0].option"),
        ([{"type": "play", "media": "https://metadata.test/x.wav"}], "pre_actions[0].media"),
    ],
)
async def test_bad_actions_are_refused_naming_the_field(
    api: ApiHarness, actions: list[Any], field: str
) -> None:
    status, body = await create(api, room="bad1", pre_actions=actions)
    assert status == 422, body
    assert body["field"] == field, body
    assert (await api.store.get_conference_by_room("cust-a", "bad1")) is None


async def test_bad_actions_in_a_put_change_nothing(api: ApiHarness) -> None:
    _, body = await create(api, post_actions=[{"type": "beep"}])
    path = f"/v1/conferences/{body['id']}"
    bad = {"name": "changed", "post_actions": [{"type": "pause", "seconds": 99}]}
    status, err = await api.request("PUT", path, json=bad)
    assert status == 422 and err["field"] == "post_actions[0].seconds", err
    _, got = await api.request("GET", path)
    assert got["name"] == "" and got["post_actions"] == [{"type": "beep", "option": {}}]
