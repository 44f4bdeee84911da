"""Leave flow from ARI events: hangup request -> leaving, StasisEnd -> leaved; what the
conference does about it (connect type ends, a terminating conference finishes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from confsvc.ari import parse_event
from confsvc.domain import ConferencecallStatus, ConferenceStatus
from tests.support.fake_ari import EngineHarness, engine_harness

C = ConferencecallStatus


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path) as harness:
        yield harness


def hung_up(h: EngineHarness) -> list[str]:
    return [args[0] for args, _ in h.ari.called("hangup")]


async def test_hangup_request_makes_the_call_leaving(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    await h.send({"type": "ChannelHangupRequest", "channel": h.channel_data["chan-1"]})
    call = await h.call_of("chan-1")
    assert call.status is C.LEAVING
    # Still counted and tracked until StasisEnd; no eject for a channel already going.
    assert (await h.conference(conf.id)).conferencecall_ids == (call.id,)
    assert "chan-1" in h.engine.channels
    assert hung_up(h) == []


async def test_stasis_end_makes_the_call_leaved_and_removes_it(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    first = await h.dial_in("chan-1", "r1")
    second = await h.dial_in("chan-2", "r1")
    await h.send({"type": "ChannelHangupRequest", "channel": h.channel_data["chan-1"]})
    await h.send({"type": "StasisEnd", "channel": h.channel_data["chan-1"]})
    assert (await h.call_of("chan-1")).status is C.LEAVED
    after = await h.conference(conf.id)
    assert after.conferencecall_ids == (second.id,)
    assert after.status is ConferenceStatus.PROGRESSING  # a conference stays up
    assert "chan-1" not in h.engine.channels and first.id not in h.engine.call_conference


async def test_stasis_end_without_hangup_request_goes_through_leaving(
    h: EngineHarness,
) -> None:
    conf = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    await h.send({"type": "StasisEnd", "channel": h.channel_data["chan-1"]})
    assert (await h.call_of("chan-1")).status is C.LEAVED
    assert (await h.conference(conf.id)).conferencecall_ids == ()


async def test_a_joining_caller_who_hangs_up_becomes_leaved(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    await h.stasis_start("chan-1", "r1")
    await h.caller_hangs_up("chan-1")
    assert (await h.call_of("chan-1")).status is C.LEAVED
    assert (await h.conference(conf.id)).conferencecall_ids == ()


async def test_replayed_leave_events_change_nothing(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    await h.caller_hangs_up("chan-1")
    before = await h.snapshot()
    mark = h.ari.mark()
    for kind in ("ChannelHangupRequest", "StasisEnd"):
        await h.send({"type": kind, "channel": h.channel_data["chan-1"]})
    await h.send(
        {
            "type": "ChannelLeftBridge",
            "bridge": {"id": conf.id},
            "channel": h.channel_data["chan-1"],
        }
    )
    assert await h.snapshot() == before
    assert h.ari.names_since(mark) == []


async def test_leave_events_for_unknown_channels_are_ignored(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    before = await h.snapshot()
    stranger = {"id": "stranger"}
    await h.send({"type": "ChannelHangupRequest", "channel": stranger})
    await h.send({"type": "ChannelLeftBridge", "bridge": {"id": conf.id}, "channel": stranger})
    await h.send({"type": "StasisEnd", "channel": stranger})
    assert await h.snapshot() == before


async def test_left_bridge_without_hangup_ends_the_call(h: EngineHarness) -> None:
    """Someone removed the caller from the bridge: a dial-in has nowhere else to be."""
    h.ari.auto_leave = False
    conf = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    h.ari.bridges[conf.id].channels.remove("chan-1")
    await h.send(
        {
            "type": "ChannelLeftBridge",
            "bridge": h.bridge_json(conf.id),
            "channel": h.channel_data["chan-1"],
        }
    )
    assert (await h.call_of("chan-1")).status is C.LEAVING
    assert hung_up(h) == ["chan-1"]
    await h.send({"type": "StasisEnd", "channel": h.channel_data["chan-1"]})
    assert (await h.call_of("chan-1")).status is C.LEAVED


# --- connect type ----------------------------------------------------------------------


async def test_connect_one_leaves_the_other_is_kicked_and_it_ends(h: EngineHarness) -> None:
    conf = await h.create(type="connect", room="pair")
    await h.dial_in("chan-1", "pair")
    await h.dial_in("chan-2", "pair")
    await h.caller_hangs_up("chan-1")
    # The other one was kicked: hung up by us; its leave events (played back by the fake)
    # made it leaved, and with both gone the conference is terminated.
    assert hung_up(h) == ["chan-2"]
    assert (await h.call_of("chan-1")).status is C.LEAVED
    assert (await h.call_of("chan-2")).status is C.LEAVED
    after = await h.conference(conf.id)
    assert after.status is ConferenceStatus.TERMINATED
    assert after.conferencecall_ids == () and after.tm_delete is not None
    assert h.ari.called("destroy_bridge") == [((conf.id,), {})]
    assert conf.id not in h.ari.bridges
    assert h.engine.channels == {} and h.engine.call_conference == {}


async def test_connect_is_terminating_until_the_kicked_one_has_left(h: EngineHarness) -> None:
    h.ari.auto_leave = False
    conf = await h.create(type="connect", room="pair")
    await h.dial_in("chan-1", "pair")
    await h.dial_in("chan-2", "pair")
    await h.caller_hangs_up("chan-1")
    assert hung_up(h) == ["chan-2"]
    assert (await h.call_of("chan-2")).status is C.LEAVING
    mid = await h.conference(conf.id)
    assert mid.status is ConferenceStatus.TERMINATING
    assert h.ari.called("destroy_bridge") == []
    await h.send({"type": "StasisEnd", "channel": h.channel_data["chan-2"]})
    assert (await h.call_of("chan-2")).status is C.LEAVED
    assert (await h.conference(conf.id)).status is ConferenceStatus.TERMINATED
    assert h.ari.called("destroy_bridge") == [((conf.id,), {})]


async def test_connect_alone_caller_leaving_ends_it(h: EngineHarness) -> None:
    conf = await h.create(type="connect", room="pair")
    await h.dial_in("chan-1", "pair")
    await h.caller_hangs_up("chan-1")
    assert (await h.conference(conf.id)).status is ConferenceStatus.TERMINATED
    assert h.ari.called("destroy_bridge") == [((conf.id,), {})]


# --- terminating -----------------------------------------------------------------------


async def test_terminating_ends_when_the_last_call_has_left(h: EngineHarness) -> None:
    h.ari.auto_leave = False
    conf = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    await h.dial_in("chan-2", "r1")
    ending = await h.engine.delete_conference("cust-a", conf.id)
    assert ending.status is ConferenceStatus.TERMINATING
    assert sorted(hung_up(h)) == ["chan-1", "chan-2"]

    await h.send({"type": "StasisEnd", "channel": h.channel_data["chan-1"]})
    mid = await h.conference(conf.id)
    assert mid.status is ConferenceStatus.TERMINATING and len(mid.conferencecall_ids) == 1
    assert h.ari.called("destroy_bridge") == []

    await h.send({"type": "StasisEnd", "channel": h.channel_data["chan-2"]})
    end = await h.conference(conf.id)
    assert end.status is ConferenceStatus.TERMINATED
    assert end.conferencecall_ids == () and end.tm_delete is not None
    assert h.ari.called("destroy_bridge") == [((conf.id,), {})]
    assert conf.id not in h.ari.bridges
    # The room is free again.
    again = await h.create(room="r1")
    assert again.status is ConferenceStatus.PROGRESSING


async def test_destroy_failure_does_not_block_termination(h: EngineHarness) -> None:
    """A bridge Asterisk already lost (404 on destroy) is not an error."""
    conf = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    del h.ari.bridges[conf.id]
    await h.engine.delete_conference("cust-a", conf.id)
    await h.engine.settle()
    assert (await h.conference(conf.id)).status is ConferenceStatus.TERMINATED
    assert h.ari.called("destroy_bridge") == [((conf.id,), {})]


async def test_a_caller_who_hangs_up_before_admission_ran_still_leaves(
    h: EngineHarness,
) -> None:
    """Events arrive back to back, as from the websocket: no drain in between."""
    conf = await h.create(room="r1")
    h.add_channel("chan-1", "r1")
    channel = h.channel_data["chan-1"]
    for data in (
        {"type": "StasisStart", "args": ["r1"], "channel": channel},
        {"type": "ChannelHangupRequest", "channel": channel},
        {"type": "StasisEnd", "channel": channel},
    ):
        await h.engine.handle_event(parse_event(data))
    h.ari.channels.pop("chan-1")
    await h.engine.settle()
    assert (await h.call_of("chan-1")).status is C.LEAVED
    assert (await h.conference(conf.id)).conferencecall_ids == ()
