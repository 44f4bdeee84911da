"""Moderated rooms in the engine with the fake ARI: PIN entry by DTMF (outside the bridge),
roles, participants held until a moderator joins, end_on_moderator_exit, start_muted,
and what a restart does to a caller half-way through its PIN."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from confsvc.domain import Conferencecall, ConferencecallStatus, ConferenceStatus
from confsvc.domain import moderation as rules
from confsvc.domain.options import Role
from tests.support.fake_ari import EngineHarness, engine_harness, eventually

C = ConferencecallStatus
MODERATED = {
    "pin": "1111",
    "moderator_pin": "9999",
    "wait_for_moderator": True,
    "end_on_moderator_exit": True,
}


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path) as harness:
        yield harness


async def dtmf(h: EngineHarness, channel_id: str, digits: str) -> None:
    for d in digits:
        await h.send(
            {"type": "ChannelDtmfReceived", "digit": d, "channel": h.channel_data[channel_id]}
        )


def added(h: EngineHarness) -> list[str]:
    return [args[1] for args, _ in h.ari.called("add_channel")]


async def enter(h: EngineHarness, channel_id: str, room: str, pin: str) -> Conferencecall:
    """Dial, type the PIN and #, and (as Asterisk would) enter the bridge."""
    await h.stasis_start(channel_id, room)
    await dtmf(h, channel_id, pin + "#")
    call = await h.call_of(channel_id)
    assert channel_id in added(h), call
    await h.entered(channel_id, call.conference_id)
    return await h.call_of(channel_id)


def mutes(h: EngineHarness) -> list[tuple[str, ...]]:
    return [(n, *a) for n, a, _ in h.ari.calls if n in ("mute", "unmute")]


async def test_pin_caller_waits_outside_the_bridge(h: EngineHarness) -> None:
    conf = await h.create(room="r1", options={"pin": "1234"})
    await h.stasis_start("chan-1", "r1")
    call = await h.call_of("chan-1")
    assert call.status is C.JOINING and call.pin_entry
    assert call.to_json()["waiting_for"] == "pin"
    assert h.ari.called("answer") == [(("chan-1",), {})]
    assert added(h) == []
    ((args, kw),) = h.ari.called("play_on_channel")
    assert args == ("chan-1", ["sound:conf-getpin"])
    await dtmf(h, "chan-1", "12")  # typing stops the prompt
    assert h.ari.called("stop_playback") == [((kw["playback_id"],), {})]
    await dtmf(h, "chan-1", "34#")
    assert added(h) == ["chan-1"]
    assert h.ari.called("add_channel")[0][1]["absorb_dtmf"] is True
    call = await h.call_of("chan-1")
    assert call.role is Role.PARTICIPANT and not call.pin_entry
    await h.entered("chan-1", conf.id)
    assert (await h.call_of("chan-1")).status is C.JOINED


async def test_three_wrong_pins_hang_up(h: EngineHarness) -> None:
    conf = await h.create(room="r1", options={"pin": "1234"})
    await h.stasis_start("chan-1", "r1")
    await dtmf(h, "chan-1", "1#")
    media = [a[1] for a, _ in h.ari.called("play_on_channel")]
    assert media[-1] == ["sound:conf-invalidpin", "sound:conf-getpin"]
    await dtmf(h, "chan-1", "*12#")  # * starts the entry again: "12" is wrong too
    await dtmf(h, "chan-1", "#")
    goodbye = h.ari.called("play_on_channel")[-1]
    assert goodbye[0] == ("chan-1", "sound:conf-invalidpin")
    await dtmf(h, "chan-1", "1234#")  # too late: the entry is over
    assert added(h) == []
    pid = goodbye[1]["playback_id"]
    await h.send({"type": "PlaybackFinished", "playback": {"id": pid, "state": "done"}})

    async def hung_up() -> bool:
        await h.engine.settle()
        return (await h.call_of("chan-1")).status is C.LEAVED

    await eventually(hung_up)
    assert (await h.conference(conf.id)).conferencecall_ids == ()


async def test_a_pause_submits_the_digits(
    h: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "INTER_DIGIT_SECONDS", 0.05)
    await h.create(room="r1", options={"moderator_pin": "77"})
    await h.stasis_start("chan-1", "r1")
    await dtmf(h, "chan-1", "77")

    async def in_bridge() -> bool:
        await h.engine.settle()
        return added(h) == ["chan-1"]

    await eventually(in_bridge)
    assert (await h.call_of("chan-1")).role is Role.MODERATOR


async def test_only_a_moderator_pin_lets_others_in_with_an_empty_entry(
    h: EngineHarness,
) -> None:
    await h.create(room="r1", options={"moderator_pin": "9"})
    await h.stasis_start("chan-1", "r1")
    await dtmf(h, "chan-1", "#")
    assert added(h) == ["chan-1"]
    assert (await h.call_of("chan-1")).role is Role.PARTICIPANT


async def test_participants_are_held_until_a_moderator_comes(h: EngineHarness) -> None:
    conf = await h.create(room="r1", options=MODERATED)
    p1 = await enter(h, "chan-1", "r1", "1111")
    assert p1.muted and p1.held and p1.to_json()["waiting_for"] == "moderator"
    assert mutes(h) == [("mute", "chan-1", "in")]
    assert h.ari.called("start_bridge_moh") == [((conf.id, "default"), {})]
    p2 = await enter(h, "chan-2", "r1", "1111")
    assert p2.held and len(h.ari.called("start_bridge_moh")) == 1
    mod = await enter(h, "chan-3", "r1", "9999")
    assert mod.role is Role.MODERATOR and not mod.muted
    assert mutes(h)[-2:] == [("unmute", "chan-1", "in"), ("unmute", "chan-2", "in")]
    assert h.ari.called("stop_bridge_moh") == [((conf.id,), {})]
    for ch in ("chan-1", "chan-2"):
        c = await h.call_of(ch)
        assert not c.muted and not c.held
    # the moderator leaves: the room ends, everyone is hung up
    await h.caller_hangs_up("chan-3")
    await h.engine.settle()
    assert (await h.conference(conf.id)).status is ConferenceStatus.TERMINATED
    assert {(await h.call_of(ch)).status for ch in ("chan-1", "chan-2")} == {C.LEAVED}


async def test_without_end_on_exit_the_participants_wait_again(h: EngineHarness) -> None:
    options: dict[str, Any] = {**MODERATED, "end_on_moderator_exit": False}
    conf = await h.create(room="r1", options=options)
    await enter(h, "chan-3", "r1", "9999")
    p = await enter(h, "chan-1", "r1", "1111")
    assert not p.muted and h.ari.called("start_bridge_moh") == []
    muted = await enter(h, "chan-2", "r1", "1111")
    await h.engine.set_muted("cust-a", muted.id, True)  # an operator's choice
    await h.caller_hangs_up("chan-3")
    assert (await h.conference(conf.id)).status is ConferenceStatus.PROGRESSING
    again = await h.call_of("chan-1")
    assert again.muted and again.held
    kept = await h.call_of("chan-2")
    assert kept.muted and not kept.held
    assert h.ari.called("start_bridge_moh") == [((conf.id, "default"), {})]
    await enter(h, "chan-4", "r1", "9999")
    assert not (await h.call_of("chan-1")).muted
    assert (await h.call_of("chan-2")).muted  # still the operator's mute


async def test_start_muted_mutes_participants_not_moderators(h: EngineHarness) -> None:
    await h.create(room="r1", options={"start_muted": True, "moderator_pin": "9"})
    p = await enter(h, "chan-1", "r1", "")
    m = await enter(h, "chan-2", "r1", "9")
    assert p.muted and not p.held and not m.muted
    assert mutes(h) == [("mute", "chan-1", "in")]


async def test_a_restart_asks_a_half_entered_pin_again(h: EngineHarness) -> None:
    conf = await h.create(room="r1", options={"pin": "55"})
    await h.stasis_start("chan-1", "r1")
    await dtmf(h, "chan-1", "5")
    engine = await h.restart()
    await engine.on_connect()
    prompts = [a for a, _ in h.ari.called("play_on_channel")]
    assert prompts[-1] == ("chan-1", ["sound:conf-getpin"])
    assert added(h) == []
    await dtmf(h, "chan-1", "55#")
    assert added(h) == ["chan-1"]
    await h.entered("chan-1", conf.id)
    assert (await h.call_of("chan-1")).status is C.JOINED
