"""A wait sound URL that fails to play (issue 11, defect 5): played again only after a
backoff, reported once (one warning line, one conference_wait_sound_failed event), never
in a loop. The engine with the fake ARI; PlaybackFinished is sent as Asterisk sends it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from confsvc.engine import moderation
from tests.support.fake_ari import EngineHarness, engine_harness, eventually

URL = "http://h/hold.wav"
Emitted = list[tuple[str, str, dict[str, Any]]]


@pytest.fixture
async def h(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EngineHarness]:
    monkeypatch.setattr(moderation, "RETRY_FIRST_SECONDS", 0.05)
    async with engine_harness(tmp_path) as harness:
        yield harness


@pytest.fixture
def emitted(h: EngineHarness, monkeypatch: pytest.MonkeyPatch) -> Emitted:
    out: Emitted = []
    monkeypatch.setattr(
        h.engine.bus, "emit", lambda kind, cust, data: out.append((kind, cust, data))
    )
    return out


def plays(h: EngineHarness) -> list[str]:
    return [kw["playback_id"] for _, kw in h.ari.called("play_on_bridge")]


async def finished(h: EngineHarness, playback_id: str, state: str) -> None:
    await h.send({"type": "PlaybackFinished", "playback": {"id": playback_id, "state": state}})


async def alone_with_wait_url(h: EngineHarness) -> str:
    """A room whose only caller hears the wait URL: returns the conference id."""
    conf = await h.create(room="r1", options={"wait_sound": URL})
    await h.dial_in("chan-1", "r1")
    assert len(plays(h)) == 1
    return conf.id


def failure_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"].startswith("wait sound failed")]


def test_retry_delay_doubles_from_1_to_60_seconds() -> None:
    assert [moderation.retry_delay(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert moderation.retry_delay(10_000) == 60


async def test_failed_wait_sound_backs_off_and_is_reported_once(
    h: EngineHarness, emitted: Emitted
) -> None:
    conf_id = await alone_with_wait_url(h)
    with capture_logs() as logs:
        await finished(h, plays(h)[-1], "failed")
        assert len(plays(h)) == 1  # not at once: that was the loop
        await eventually(lambda: len(plays(h)) == 2)  # after RETRY_FIRST_SECONDS
        await finished(h, plays(h)[-1], "failed")
        assert h.engine.members.wait_failures[conf_id] == 2
        await eventually(lambda: len(plays(h)) == 3)  # after twice as long
        await finished(h, plays(h)[-1], "failed")
    (line,) = failure_lines(logs)
    assert line["log_level"] == "warning" and line["sound"] == URL
    assert line["playback_state"] == "failed" and line["conference"] == conf_id
    ((kind, customer, data),) = emitted
    assert kind == "conference_wait_sound_failed" and customer == "cust-a"
    assert data["id"] == conf_id and data["sound"] == URL and data["playback_state"] == "failed"
    assert data["wait_sound"] == URL  # the conference's JSON, as every conference_ event


async def test_a_play_that_ends_at_once_counts_as_failed(
    h: EngineHarness, emitted: Emitted
) -> None:
    await alone_with_wait_url(h)
    await finished(h, plays(h)[-1], "done")  # within WAIT_MIN_SECONDS of its start
    assert len(plays(h)) == 1
    assert [(k, d["playback_state"]) for k, _, d in emitted] == [
        ("conference_wait_sound_failed", "done")
    ]
    await eventually(lambda: len(plays(h)) == 2)


async def test_a_play_that_works_resets_the_backoff(h: EngineHarness, emitted: Emitted) -> None:
    conf_id = await alone_with_wait_url(h)
    await finished(h, plays(h)[-1], "failed")
    await eventually(lambda: len(plays(h)) == 2)
    h.engine.members.wait_started[conf_id] -= 5.0  # this one played for 5 s
    with capture_logs() as logs:
        await finished(h, plays(h)[-1], "done")
    assert len(plays(h)) == 3  # looped at once again
    assert conf_id not in h.engine.members.wait_failures
    assert [e["event"] for e in logs if e["event"].startswith("wait sound")] == [
        "wait sound playing again"
    ]
    await finished(h, plays(h)[-1], "failed")  # a new failure is news again
    assert len(emitted) == 2


async def test_the_room_no_longer_waiting_cancels_the_retry(
    h: EngineHarness, emitted: Emitted
) -> None:
    conf_id = await alone_with_wait_url(h)
    await finished(h, plays(h)[-1], "failed")
    await h.dial_in("chan-2", "r1")  # not alone: no wait sound
    assert h.engine.members.wait.get(conf_id) == ""
    assert conf_id not in h.engine.members.wait_failures
    await asyncio.sleep(0.15)  # past the retry that was due
    assert len(plays(h)) == 1
    await h.caller_hangs_up("chan-2")  # alone again: played at once, not reported again
    assert len(plays(h)) == 2
    await finished(h, plays(h)[-1], "failed")
    assert len(emitted) == 1


async def test_the_last_caller_leaving_cancels_the_retry(
    h: EngineHarness, emitted: Emitted
) -> None:
    conf_id = await alone_with_wait_url(h)
    await finished(h, plays(h)[-1], "failed")
    await h.caller_hangs_up("chan-1")
    assert conf_id not in h.engine.members.wait_failures
    await asyncio.sleep(0.15)
    await h.engine.lanes.drain()
    assert len(plays(h)) == 1 and len(emitted) == 1
