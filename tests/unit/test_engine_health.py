"""Health checks: a joined caller whose channel is gone twice in a row is removed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from confsvc.ari import AriNotFound, AriUnavailable
from confsvc.domain import ConferencecallStatus, ConferenceStatus
from confsvc.engine import health
from tests.support.fake_ari import EngineHarness, engine_harness

C = ConferencecallStatus


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path) as harness:
        yield harness


async def round_(h: EngineHarness) -> None:
    await health.check_once(h.engine)
    await h.engine.settle()


def gone(h: EngineHarness, channel_id: str) -> None:
    h.ari.channel_errors[channel_id] = AriNotFound(404, "GET", "/channels", "Channel not found")


async def test_two_failed_checks_remove_the_caller(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    sick = await h.dial_in("chan-1", "r1")
    well = await h.dial_in("chan-2", "r1")
    gone(h, "chan-1")

    await round_(h)
    first = await h.call_of("chan-1")
    assert (first.status, first.health_failures) == (C.JOINED, 1)
    assert (await h.conference(conf.id)).conferencecall_ids == (sick.id, well.id)
    assert h.ari.called("hangup") == []

    await round_(h)
    second = await h.call_of("chan-1")
    assert second.status is C.LEAVED
    after = await h.conference(conf.id)
    assert after.conferencecall_ids == (well.id,)
    assert after.status is ConferenceStatus.PROGRESSING
    assert "chan-1" not in h.engine.channels
    assert [a[0] for a, _ in h.ari.called("hangup")] == ["chan-1"]
    # The healthy caller was checked both times (one channel list a round), never counted.
    assert (await h.call_of("chan-2")).health_failures == 0
    assert len(h.ari.called("list_channels")) == 2
    assert h.ari.called("get_channel") == []


async def test_a_success_in_between_resets_the_count(h: EngineHarness) -> None:
    await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    gone(h, "chan-1")
    await round_(h)
    assert (await h.call_of("chan-1")).health_failures == 1
    del h.ari.channel_errors["chan-1"]
    await round_(h)
    assert (await h.call_of("chan-1")).health_failures == 0
    gone(h, "chan-1")
    await round_(h)
    call = await h.call_of("chan-1")
    assert (call.status, call.health_failures) == (C.JOINED, 1)


async def test_a_channel_missing_from_asterisk_counts_as_gone(h: EngineHarness) -> None:
    """No scripted error: the fake simply no longer has the channel."""
    await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    del h.ari.channels["chan-1"]
    await round_(h)
    await round_(h)
    assert (await h.call_of("chan-1")).status is C.LEAVED


async def test_asterisk_unavailable_skips_the_round_without_counting(h: EngineHarness) -> None:
    await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    h.ari.channel_errors["chan-1"] = AriUnavailable(0, "GET", "/channels", "refused")
    for _ in range(3):
        await round_(h)
    call = await h.call_of("chan-1")
    assert (call.status, call.health_failures) == (C.JOINED, 0)
    assert len(h.ari.called("list_channels")) == 3


async def test_only_joined_callers_are_checked(h: EngineHarness) -> None:
    h.ari.auto_leave = False
    await h.create(room="r1")
    await h.stasis_start("joining", "r1")
    kicked = await h.dial_in("leaving", "r1")
    await h.engine.kick("cust-a", kicked.id)
    await round_(h)
    assert h.ari.called("list_channels") == []


async def test_a_joined_caller_of_an_ending_conference_fails_the_check(
    h: EngineHarness,
) -> None:
    """The seed's second question: is the conference still progressing?"""
    h.ari.auto_leave = False
    conf = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    await h.dial_in("chan-2", "r1")
    await h.engine.kick("cust-a", (await h.call_of("chan-2")).id)
    # Force the conference into terminating while chan-1 is still joined.
    ending = (await h.conference(conf.id)).model_copy(
        update={"status": ConferenceStatus.TERMINATING}
    )
    await h.store.save_conference(ending)
    h.engine.rooms.remember(ending)  # the engine's memory is the live truth
    await round_(h)
    assert (await h.call_of("chan-1")).health_failures == 1


async def test_a_caller_older_than_a_day_fails_the_check(
    h: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed's third question: is the participant younger than 24 hours?"""
    await h.create(room="r1")
    call = await h.dial_in("chan-1", "r1")
    tomorrow = call.tm_create + timedelta(hours=24, seconds=1)
    monkeypatch.setattr(h.engine, "now", lambda: tomorrow)
    await round_(h)
    await round_(h)
    assert (await h.call_of("chan-1")).status is C.LEAVED
