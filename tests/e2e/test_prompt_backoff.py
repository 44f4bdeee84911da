"""A wait sound URL that fails to play (issue 11, defect 5), against the real Asterisk and a
real baresip phone: a loopback HTTP listener counts how often Asterisk fetches the sound.

Before: every PlaybackFinished (state failed) started the URL again at once, ~60 fetches a
second with one caller alone. Now: played again after 1 s, 2 s, 4 s ... (at most 60 s),
reported once (one conference_wait_sound_failed event, one warning line)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest
from aiohttp import web

from tests.e2e.test_conference_audio import hang_up_all
from tests.e2e.test_moderated_rooms import enter
from tests.support.controller import Controller
from tests.support.events import Receiver
from tests.support.room import create_room, phones
from tests.support.runtime import Runtime

WAIT_SECONDS = 5.0
# Plays start at 0, 1 and 3 s within WAIT_SECONDS; Asterisk fetches a URL at most twice a
# play (seen: ~2). The old loop made hundreds of fetches in the same time.
MAX_FETCHES = 12


@dataclass
class BrokenSound(Receiver):
    """A loopback listener (the events tests' Receiver) whose answer is never audio:
    `status` with a text body. Counts what Asterisk fetches."""

    status: int = 404

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hold.wav"

    @property
    def fetches(self) -> int:
        return len(self.got)

    async def _receive(self, request: web.Request) -> web.Response:
        await super()._receive(request)
        return web.Response(status=self.status, body=b"not audio at all " * 64)


def failure_lines(ctl: Controller) -> list[dict[str, object]]:
    """The controller's JSON log lines reporting the failing wait sound."""
    out = []
    for line in ctl.log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if str(entry.get("event", "")).startswith("wait sound failed"):
            out.append(entry)
    return out


@pytest.mark.parametrize("status", [404, 200], ids=["not-found", "garbage"])
async def test_failing_wait_sound_backs_off_and_is_reported_once(
    runtime: Runtime, controller: Controller, status: int
) -> None:
    room = f"waitfail{status}"
    sound = BrokenSound(status=status)
    await sound.start()
    try:
        conf = await create_room(
            controller,
            room,
            moderator_pin="9999",
            wait_for_moderator=True,
            wait_sound=sound.url,
        )
        async with phones(runtime, [2300.0], room) as (caller,):
            await enter(controller, conf["id"], caller, room, "")  # a participant: waits
            await asyncio.sleep(WAIT_SECONDS)
            fetches = sound.fetches
            await hang_up_all([caller])
    finally:
        await sound.stop()
    assert 1 <= fetches <= MAX_FETCHES, f"{fetches} fetches in {WAIT_SECONDS} s"
    body = await controller.request("GET", f"/v1/events?conference_id={conf['id']}&page_size=100")
    failed = [e for e in body["result"] if e["type"] == "conference_wait_sound_failed"]
    assert len(failed) == 1, [e["type"] for e in body["result"]]
    assert failed[0]["data"]["sound"] == sound.url and failed[0]["data"]["id"] == conf["id"]
    assert failed[0]["data"]["playback_state"] == "failed"
    (line,) = failure_lines(controller)
    assert line["level"] == "warning" and line["sound"] == sound.url
