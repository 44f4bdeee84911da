"""pre_actions / post_actions in the engine (real Engine and SqliteStore, fake ARI whose
channel plays end at once): the order of ARI calls, joined only in the bridge, hang-ups
during the actions, digits, skipped actions, and rooms without actions unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from confsvc.domain import ConferencecallStatus
from tests.support.dialout import ALLOW, A, answer, place
from tests.support.fake_ari import EngineHarness, engine_harness, eventually

JOINING, JOINED, LEAVED = (
    ConferencecallStatus.JOINING,
    ConferencecallStatus.JOINED,
    ConferencecallStatus.LEAVED,
)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path) as harness:
        harness.ari.finish_plays = True
        yield harness


def order(h: EngineHarness, *names: str) -> list[tuple[str, Any]]:
    """The fake's calls of these names, in order, with their first two arguments."""
    return [(n, a[:2] if n != "play_on_channel" else a[1]) for n, a, _ in h.ari.calls if n in names]


async def idle(h: EngineHarness) -> None:
    """The background work (actions) over and the lanes settled."""
    await eventually(lambda: not h.engine.background, timeout=3)
    await h.engine.settle()


async def events(h: EngineHarness, kind: str) -> list[dict[str, Any]]:
    return [e.data for e in await h.store.list_events("cust-a", limit=1000) if e.type == kind]


async def test_pre_actions_play_before_the_bridge_and_joined_waits_for_it(
    h: EngineHarness,
) -> None:
    pre = [{"type": "beep"}, {"type": "play", "option": {"media": "sound:conf-placeintoconf"}}]
    conf = await h.create(room="r1", pre_actions=pre)
    await h.stasis_start("chan-1", "r1")
    await idle(h)
    assert order(h, "answer", "play_on_channel", "add_channel") == [
        ("answer", ("chan-1",)),
        ("play_on_channel", ["sound:beep"]),
        ("play_on_channel", ["sound:conf-placeintoconf"]),
        ("add_channel", (conf.id, "chan-1")),
    ]
    assert (await h.call_of("chan-1")).status is JOINING  # not in the bridge yet
    await h.entered("chan-1", conf.id)
    assert (await h.call_of("chan-1")).status is JOINED


async def test_a_room_without_actions_joins_as_before(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    await h.stasis_start("chan-1", "r1")
    await idle(h)
    assert not h.ari.called("play_on_channel")
    assert order(h, "answer", "add_channel") == [
        ("answer", ("chan-1",)),
        ("add_channel", (conf.id, "chan-1")),
    ]


async def test_a_hang_up_during_pre_actions_is_a_leave_and_nothing_is_bridged(
    h: EngineHarness,
) -> None:
    await h.create(room="r1", pre_actions=[{"type": "pause", "seconds": 5}, {"type": "beep"}])
    await h.stasis_start("chan-1", "r1")
    await asyncio.sleep(0.1)
    await h.caller_hangs_up("chan-1")
    await idle(h)
    assert (await h.call_of("chan-1")).status is LEAVED
    assert not h.ari.called("add_channel") and not h.ari.called("play_on_channel")
    assert not await events(h, "conferencecall_action_failed")


async def test_digits_receive_makes_a_digits_event_before_the_caller_enters(
    h: EngineHarness,
) -> None:
    conf = await h.create(
        room="r1", pre_actions=[{"type": "digits_receive", "length": 2, "timeout": 5}]
    )
    await h.stasis_start("chan-1", "r1")
    await eventually(lambda: bool(h.engine.action_digits))
    for digit in "42":
        await h.send(
            {"type": "ChannelDtmfReceived", "digit": digit, "duration_ms": 100,
             "channel": h.channel_data["chan-1"]}
        )  # fmt: skip
    await idle(h)
    (got,) = await events(h, "conferencecall_digits")
    assert got["digits"] == "42" and got["action"] == "digits_receive"
    assert got["status"] == "joining"
    assert h.ari.called("add_channel")[0][0] == (conf.id, "chan-1")


async def test_an_unplayable_url_is_skipped_with_an_event_and_the_caller_joins(
    h: EngineHarness,
) -> None:
    url = "https://media.example/unreachable.wav"
    conf = await h.create(room="r1", pre_actions=[{"type": "play", "media": url}])
    await h.stasis_start("chan-1", "r1")
    await idle(h)
    (failed,) = await events(h, "conferencecall_action_failed")
    assert failed["phase"] == "pre" and failed["index"] == 0
    assert failed["action"] == {"type": "play", "option": {"media": url}}
    assert "failed" in failed["reason"]
    assert h.ari.called("add_channel")[0][0] == (conf.id, "chan-1")


async def test_a_kicked_caller_hears_post_actions_then_is_hung_up(h: EngineHarness) -> None:
    conf = await h.create(
        room="r1", post_actions=[{"type": "play", "option": {"media": "sound:goodbye"}}]
    )
    call = await h.dial_in("chan-1", "r1")
    await h.engine.kick("cust-a", call.id)
    await idle(h)
    assert order(h, "remove_channel", "play_on_channel", "hangup") == [
        ("remove_channel", (conf.id, "chan-1")),
        ("play_on_channel", ["sound:goodbye"]),
        ("hangup", ("chan-1",)),
    ]
    assert (await h.call_of("chan-1")).status is LEAVED


async def test_a_caller_who_hangs_up_hears_no_post_actions(h: EngineHarness) -> None:
    await h.create(room="r1", post_actions=[{"type": "beep"}])
    await h.dial_in("chan-1", "r1")
    await h.caller_hangs_up("chan-1")
    await idle(h)
    assert not h.ari.called("play_on_channel") and not h.ari.called("remove_channel")
    assert (await h.call_of("chan-1")).status is LEAVED
    assert not await events(h, "conferencecall_action_failed")


async def test_the_conference_ending_plays_post_actions_to_everyone(h: EngineHarness) -> None:
    conf = await h.create(room="r1", post_actions=[{"type": "beep"}])
    await h.dial_in("chan-1", "r1")
    await h.dial_in("chan-2", "r1")
    await h.engine.delete_conference("cust-a", conf.id)
    await idle(h)
    played = sorted(a[0] for a, _ in h.ari.called("play_on_channel"))
    assert played == ["chan-1", "chan-2"]
    assert (await h.conference(conf.id)).status.value == "terminated"


async def dtmf(h: EngineHarness, channel_id: str, digits: str) -> None:
    for d in digits:
        await h.send(
            {"type": "ChannelDtmfReceived", "digit": d, "channel": h.channel_data[channel_id]}
        )


async def test_a_pin_room_asks_the_pin_first_then_runs_the_pre_actions(h: EngineHarness) -> None:
    conf = await h.create(room="r1", options={"pin": "12"}, pre_actions=[{"type": "beep"}])
    await h.stasis_start("chan-1", "r1")
    await dtmf(h, "chan-1", "12#")
    await idle(h)
    assert order(h, "answer", "play_on_channel", "add_channel") == [
        ("answer", ("chan-1",)),
        ("play_on_channel", ["sound:conf-getpin"]),
        ("play_on_channel", ["sound:beep"]),
        ("add_channel", (conf.id, "chan-1")),
    ]
    await h.entered("chan-1", conf.id)
    assert (await h.call_of("chan-1")).status is JOINED


async def test_star_with_hangup_on_star_plays_the_post_actions(h: EngineHarness) -> None:
    conf = await h.create(
        room="r1", options={"hangup_on_star": True}, post_actions=[{"type": "beep"}]
    )
    await h.dial_in("chan-1", "r1")
    await dtmf(h, "chan-1", "*")
    await idle(h)
    assert order(h, "remove_channel", "play_on_channel", "hangup") == [
        ("remove_channel", (conf.id, "chan-1")),
        ("play_on_channel", ["sound:beep"]),
        ("hangup", ("chan-1",)),
    ]


async def test_a_dial_out_callee_hears_the_pre_actions_before_the_room(tmp_path: Path) -> None:
    async with engine_harness(tmp_path, dialout_allow=ALLOW) as d:
        d.ari.finish_plays = True
        conf = await d.create(room="board", pre_actions=[{"type": "beep"}])
        (txn,) = await place(d, conf.id, A)
        await answer(d, txn)
        await idle(d)
        assert order(d, "play_on_channel", "add_channel") == [
            ("play_on_channel", ["sound:beep"]),
            ("add_channel", (conf.id, txn)),
        ]
        # The actions run outside the lane: on a busy machine the helper may look for the
        # caller in the bridge before they end, so Asterisk's ChannelEnteredBridge is sent
        # here once the add happened.
        if (await d.call_of(txn)).status is not JOINED:
            await d.entered(txn, conf.id)
        assert (await d.call_of(txn)).status is JOINED
