"""Join flow from ARI events: real Engine, real SqliteStore, fake ARI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from confsvc.ari import AriNotFound, ChannelEnteredBridge, StasisStart, parse_event
from confsvc.domain import ConferencecallStatus, ConferenceStatus
from confsvc.engine import join
from tests.support.fake_ari import EngineHarness, engine_harness, eventually

JOINING, JOINED = ConferencecallStatus.JOINING, ConferencecallStatus.JOINED


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path) as harness:
        yield harness


def hangups(h: EngineHarness) -> list[tuple[str, str | None]]:
    return [(args[0], kwargs["reason"]) for args, kwargs in h.ari.called("hangup")]


async def test_the_helpers_build_typed_events() -> None:
    start = parse_event(
        {"type": "StasisStart", "args": ["r1"], "channel": {"id": "c1"}, "application": "x"}
    )
    assert isinstance(start, StasisStart) and start.args == ["r1"]
    entered = parse_event({"type": "ChannelEnteredBridge", "bridge": {"id": "b1"}})
    assert isinstance(entered, ChannelEnteredBridge) and entered.channel is None


# --- StasisStart -> joining -> joined --------------------------------------------------


async def test_stasis_start_for_an_existing_room_makes_a_joining_call(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    await h.stasis_start("chan-1", "r1", number="2002", name="Bob")

    call = await h.call_of("chan-1")
    assert call.status is JOINING
    assert (call.conference_id, call.customer_id) == (conf.id, "cust-a")
    assert (call.caller.number, call.caller.name) == ("2002", "Bob")
    assert h.engine.channels["chan-1"] == call.id
    assert h.engine.call_conference[call.id] == conf.id
    assert (await h.conference(conf.id)).conferencecall_ids == (call.id,)
    assert h.ari.called("answer") == [(("chan-1",), {})]
    ((args, _),) = h.ari.called("add_channel")
    assert args == (conf.id, "chan-1")  # the bridge id is the conference id
    assert hangups(h) == []


async def test_channel_entered_bridge_makes_the_call_joined(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    await h.stasis_start("chan-1", "r1")
    await h.entered("chan-1", conf.id)
    call = await h.call_of("chan-1")
    assert call.status is JOINED
    # Entering again (replayed event) changes nothing.
    await h.entered("chan-1", conf.id)
    assert (await h.call_of("chan-1")).status is JOINED


async def test_entering_another_bridge_does_not_join(h: EngineHarness) -> None:
    await h.create(room="r1")
    other = await h.create(room="r2")
    await h.stasis_start("chan-1", "r1")
    await h.entered("chan-1", other.id)
    assert (await h.call_of("chan-1")).status is JOINING


async def test_a_replayed_stasis_start_is_ignored(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    await h.stasis_start("chan-1", "r1")
    mark = h.ari.mark()
    await h.stasis_start("chan-1", "r1")
    assert h.ari.names_since(mark) == []
    assert len(await h.calls_of("chan-1")) == 1
    assert len((await h.conference(conf.id)).conferencecall_ids) == 1


async def test_two_stasis_starts_queued_together_admit_once(h: EngineHarness) -> None:
    """The second StasisStart is routed before the first admit ran (same lane)."""
    conf = await h.create(room="r1")
    h.add_channel("chan-1", "r1")
    data = {"type": "StasisStart", "args": ["r1"], "channel": h.channel_data["chan-1"]}
    await h.engine.handle_event(parse_event(data))
    await h.engine.handle_event(parse_event(data))
    await h.engine.settle()
    assert len(await h.calls_of("chan-1")) == 1
    assert len((await h.conference(conf.id)).conferencecall_ids) == 1
    assert len(h.ari.called("answer")) == 1


async def test_entered_bridge_without_a_channel_does_not_crash(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    await h.stasis_start("chan-1", "r1")
    event = await h.send({"type": "ChannelEnteredBridge", "bridge": h.bridge_json(conf.id)})
    assert isinstance(event, ChannelEnteredBridge) and event.channel is None
    assert (await h.call_of("chan-1")).status is JOINING


async def test_entered_bridge_for_an_unknown_channel_is_ignored(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    h.add_channel("stranger")
    await h.entered("stranger", conf.id)
    assert await h.calls_of("stranger") == []


# --- refusals --------------------------------------------------------------------------


async def test_unknown_room_is_refused_and_nothing_is_stored(h: EngineHarness) -> None:
    await h.stasis_start("chan-1", "nosuchroom")
    assert hangups(h) == [("chan-1", "unallocated")]
    assert h.ari.called("answer") == []
    assert await h.calls_of("chan-1") == []
    assert "chan-1" not in h.engine.channels
    assert await h.store.find_live_conference_by_room("nosuchroom") == []


async def test_a_terminated_room_is_unknown(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    await h.engine.delete_conference("cust-a", conf.id)
    await h.stasis_start("chan-1", "r1")
    assert hangups(h) == [("chan-1", "unallocated")]
    assert await h.calls_of("chan-1") == []


async def test_a_room_two_tenants_use_is_refused(h: EngineHarness) -> None:
    # Only a database from before migration 6 can hold this; made by hand here.
    await h.create("cust-a", room="shared")
    await h.create("cust-b", room="other")
    await h.store._write(
        "UPDATE conferences SET room = 'shared', legacy_room_tenant = customer_id", ()
    )
    await h.restart()  # an old database: the controller starts on it
    await h.engine.rooms.load(h.store)
    await h.stasis_start("chan-1", "shared")
    assert hangups(h) == [("chan-1", "unallocated")]
    assert await h.calls_of("chan-1") == []


async def test_a_terminating_conference_refuses_new_callers(h: EngineHarness) -> None:
    h.ari.auto_leave = False
    conf = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    assert (await h.engine.delete_conference("cust-a", conf.id)).status is (
        ConferenceStatus.TERMINATING
    )
    await h.stasis_start("chan-2", "r1")
    assert ("chan-2", "unallocated") in hangups(h)
    assert await h.calls_of("chan-2") == []


async def test_auto_create_makes_the_room_and_admits_the_caller(tmp_path: Path) -> None:
    async with engine_harness(tmp_path, auto_create_rooms=True, auto_create_customer="dev") as h:
        await h.stasis_start("chan-1", "fresh.room_1")
        (conf,) = await h.store.find_live_conference_by_room("fresh.room_1")
        assert conf.customer_id == "dev"
        assert (conf.name, conf.room, conf.status) == (
            "fresh.room_1",
            "fresh.room_1",
            ConferenceStatus.PROGRESSING,
        )
        ((args, kwargs),) = h.ari.called("create_bridge")
        assert args == (conf.id,) and kwargs["name"] == "fresh.room_1"
        call = await h.call_of("chan-1")
        assert (call.conference_id, call.customer_id, call.status) == (conf.id, "dev", JOINING)
        assert conf.conferencecall_ids == (call.id,)
        assert h.ari.called("add_channel")[0][0] == (conf.id, "chan-1")
        # The next caller of the room joins the same conference.
        await h.stasis_start("chan-2", "fresh.room_1")
        assert len(await h.store.find_live_conference_by_room("fresh.room_1")) == 1
        assert (await h.call_of("chan-2")).conference_id == conf.id
        assert len(h.ari.called("create_bridge")) == 1


@pytest.mark.parametrize("args", [["a-b"], ["x" * 33], [""], [], ["room\n"], ["r 1"]])
async def test_invalid_room_names_are_refused_even_with_auto_create(
    tmp_path: Path, args: list[str]
) -> None:
    async with engine_harness(tmp_path, auto_create_rooms=True) as h:
        await h.stasis_start("chan-1", "ignored", args=args)
        assert hangups(h) == [("chan-1", "unallocated")]
        assert h.ari.called("create_bridge") == []
        assert await h.store.list_live_conferences() == []
        assert await h.calls_of("chan-1") == []


async def test_a_32_character_room_is_valid(tmp_path: Path) -> None:
    async with engine_harness(tmp_path, auto_create_rooms=True) as h:
        await h.stasis_start("chan-1", "x" * 32)
        assert hangups(h) == []
        assert (await h.call_of("chan-1")).status is JOINING


async def _fill(h: EngineHarness) -> str:
    conf = await h.create(room="small", max_participants=2)
    await h.dial_in("chan-1", "small")
    await h.dial_in("chan-2", "small")
    return conf.id


async def test_full_conference_plays_conf_full_then_hangs_up(h: EngineHarness) -> None:
    conference_id = await _fill(h)
    mark = h.ari.mark()
    await h.stasis_start("chan-3", "small")
    # The refusal runs outside the lane: wait until the prompt is playing.
    await eventually(lambda: "full-chan-3" in h.engine.playbacks)
    assert hangups(h) == []
    await h.send(
        {
            "type": "PlaybackFinished",
            "playback": {"id": "full-chan-3", "media_uri": "sound:conf-full", "state": "done"},
        }
    )
    await eventually(lambda: ("chan-3", "normal") in hangups(h))
    assert h.ari.calls[mark:] == [
        ("answer", ("chan-3",), {}),
        ("play_on_channel", ("chan-3", "sound:conf-full"), {"playback_id": "full-chan-3"}),
        ("hangup", ("chan-3",), {"reason": "normal"}),
    ]
    assert await h.calls_of("chan-3") == []
    assert "chan-3" not in h.engine.channels
    assert len((await h.conference(conference_id)).conferencecall_ids) == 2
    assert h.engine.playbacks == {}


async def test_full_conference_hangs_up_when_the_prompt_never_finishes(
    h: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(join.refuse_full, "__defaults__", (0.05,))
    await _fill(h)
    await h.stasis_start("chan-3", "small")
    await eventually(lambda: ("chan-3", "normal") in hangups(h))
    assert h.ari.called("play_on_channel")[0][0] == ("chan-3", "sound:conf-full")
    assert await h.calls_of("chan-3") == []
    assert h.engine.playbacks == {}


async def test_a_free_place_lets_the_next_caller_in(h: EngineHarness) -> None:
    conference_id = await _fill(h)
    await h.caller_hangs_up("chan-1")
    await h.stasis_start("chan-3", "small")
    assert (await h.call_of("chan-3")).status is JOINING
    assert len((await h.conference(conference_id)).conferencecall_ids) == 2
    assert h.ari.called("play_on_channel") == []


async def test_auto_create_with_asterisk_down_refuses_the_caller(tmp_path: Path) -> None:
    async with engine_harness(tmp_path, auto_create_rooms=True) as h:
        h.ari.fail_create_bridge = True
        await h.stasis_start("chan-1", "r1")
        assert hangups(h) == [("chan-1", "unallocated")]
        assert await h.store.list_live_conferences() == []
        assert await h.calls_of("chan-1") == []
        # Asterisk is back: the next caller gets the room.
        h.ari.fail_create_bridge = False
        await h.stasis_start("chan-2", "r1")
        assert (await h.call_of("chan-2")).status is JOINING


async def test_a_new_rooms_caller_is_answered_before_its_bridge_exists(tmp_path: Path) -> None:
    async with engine_harness(tmp_path, auto_create_rooms=True) as h:
        bridge_made = asyncio.Event()
        create_bridge = h.ari.create_bridge

        async def slow_create_bridge(bridge_id: str, **kwargs: Any) -> Any:
            await bridge_made.wait()
            return await create_bridge(bridge_id, **kwargs)

        h.ari.create_bridge = slow_create_bridge  # type: ignore[method-assign]
        h.add_channel("chan-1", "fresh")
        data = {"type": "StasisStart", "args": ["fresh"], "channel": h.channel_data["chan-1"]}
        await h.engine.handle_event(parse_event(data))
        # The 200 OK waits neither for the bridge nor for the store; the add waits for both.
        await eventually(lambda: len(h.ari.called("answer")) == 1)
        assert h.ari.called("create_bridge") == [] and h.ari.called("add_channel") == []
        bridge_made.set()
        await h.engine.settle()
        await eventually(lambda: len(h.ari.called("add_channel")) == 1)
        names = [name for name, _, _ in h.ari.calls]
        assert names.index("answer") < names.index("create_bridge") < names.index("add_channel")
        assert len(h.ari.called("answer")) == 1
        assert h.engine.answers == {}


async def test_a_failed_early_answer_leaves_the_caller_unbridged(tmp_path: Path) -> None:
    async with engine_harness(tmp_path, auto_create_rooms=True) as h:

        async def gone(channel_id: str) -> None:
            h.ari._record("answer", channel_id)
            raise AriNotFound(404, "POST", f"/channels/{channel_id}/answer", "Channel not found")

        h.ari.answer = gone  # type: ignore[method-assign]
        await h.stasis_start("chan-1", "fresh")
        await h.engine.settle()
        await eventually(lambda: not h.engine.background)
        assert len(h.ari.called("answer")) == 1
        assert h.ari.called("add_channel") == []
        assert h.engine.answers == {}


async def test_a_live_rooms_caller_is_answered_by_its_admission(h: EngineHarness) -> None:
    await h.create(room="r1")
    await h.stasis_start("chan-1", "r1")
    assert h.engine.answers == {}
    names = [name for name, _, _ in h.ari.calls]
    assert names.index("answer") < names.index("add_channel")


async def test_an_unknown_room_is_not_answered(h: EngineHarness) -> None:
    await h.stasis_start("chan-1", "nowhere")
    assert h.ari.called("answer") == []
    assert hangups(h) == [("chan-1", "unallocated")]
