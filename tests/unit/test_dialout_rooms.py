"""Dial-out in the engine, continued: rooms made by POST /v1/calls, the concurrent-call
cap and room capacity, reconcile after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from confsvc.domain.dialout import CallResult, CallStatus
from confsvc.domain.dialout_rules import DialoutError
from tests.support.dialout import (
    ALLOW,
    A,
    B,
    C,
    D,
    answer,
    call,
    channel,
    destroyed,
    place,
    settle,
)
from tests.support.fake_ari import EngineHarness, engine_harness


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path, dialout_allow=ALLOW) as harness:
        yield harness


# --- rooms made by POST /v1/calls ------------------------------------------------------


async def test_a_room_made_for_dial_out_ends_when_unused(h: EngineHarness) -> None:
    placed = await h.engine.place_calls("cust-a", {"dest": [A, B], "room": "hoiio"})
    await settle(h)
    conf = await h.conference(placed["conference_id"])
    assert (conf.room, conf.max_participants) == ("hoiio", 8)
    first, second = placed["txn_refs"]
    await destroyed(h, first, 17)
    assert (await h.conference(conf.id)).status.value == "progressing"  # one still open
    await destroyed(h, second, 19)
    assert (await h.conference(conf.id)).status.value == "terminated"


async def test_an_existing_room_is_reused_and_kept(h: EngineHarness) -> None:
    conf = await h.create(room="kept")
    placed = await h.engine.place_calls("cust-a", {"dest": [A], "room": "kept"})
    await settle(h)
    assert placed["conference_id"] == conf.id
    await destroyed(h, placed["txn_refs"][0], 17)
    assert (await h.conference(conf.id)).status.value == "progressing"


async def test_a_refused_request_leaves_no_room_behind(h: EngineHarness) -> None:
    with pytest.raises(DialoutError):
        await h.engine.place_calls("cust-a", {"dest": ["+441234567"], "room": "nope"})
    assert await h.store.get_conference_by_room("cust-a", "nope") is None
    assert h.ari.called("originate") == []


# --- the concurrent-call cap -----------------------------------------------------------


async def test_concurrent_cap_counts_open_calls_across_requests(tmp_path: Path) -> None:
    async with engine_harness(tmp_path, dialout_allow=ALLOW, dialout_max_calls=3) as h:
        conf = await h.create(room="board")
        first = await place(h, conf.id, A, B)
        with pytest.raises(DialoutError) as info:
            await place(h, conf.id, C, D)
        assert info.value.code == "error_concurrent_call_limit_reached"
        assert len(h.ari.called("originate")) == 2
        await destroyed(h, first[0], 17)  # one ends: room for two again
        await place(h, conf.id, C, D)
        assert len(h.ari.called("originate")) == 4


async def test_requests_racing_for_the_last_seats(tmp_path: Path) -> None:
    async with engine_harness(tmp_path, dialout_allow=ALLOW, dialout_max_calls=2) as h:
        conf = await h.create(room="board")
        results = await asyncio.gather(
            *(h.engine.place_calls("cust-a", {"dest": [n]}, conf.id) for n in (A, B, C, D)),
            return_exceptions=True,
        )
        await settle(h)
        assert sum(isinstance(r, dict) for r in results) == 2
        assert len(h.ari.called("originate")) == 2


async def test_room_capacity_counts_members_and_calls_on_their_way(h: EngineHarness) -> None:
    conf = await h.create(room="small", max_participants=3)
    await h.dial_in("chan-1", "small")
    await place(h, conf.id, A)
    with pytest.raises(DialoutError) as info:
        await place(h, conf.id, B, C)
    assert info.value.code == "error_room_full"
    await place(h, conf.id, B)


# --- reconcile (a restart) --------------------------------------------------------------


async def test_restart_ends_what_it_cannot_follow_and_adopts_an_answer(h: EngineHarness) -> None:
    conf = await h.create(room="board")
    placed = await h.engine.place_calls("cust-a", {"dest": [A, B, C, D]}, conf.id)
    txns = placed["txn_refs"]
    await settle(h)
    gone, ringing, answered_away, queued = txns
    # The fourth was never dialled: as if the process died before its turn.
    q = await call(h, queued)
    await h.store.save_call(q.model_copy(update={"status": CallStatus.QUEUED, "tm_dial": None}))
    from confsvc.ari import Channel

    h.ari.channels.pop(gone, None)
    h.ari.channels.pop(queued, None)
    h.ari.channels[ringing] = msgspec.convert(channel(ringing, "Ringing"), Channel)
    h.ari.channels[answered_away] = msgspec.convert(channel(answered_away, "Up"), Channel)
    engine = await h.restart()
    await engine.on_connect()
    await settle(h)
    assert (await call(h, gone)).result is CallResult.FAILED
    assert (await call(h, queued)).result is CallResult.FAILED
    assert (await call(h, ringing)).status is CallStatus.RINGING
    adopted = await call(h, answered_away)
    assert adopted.status is CallStatus.ANSWERED and adopted.conferencecall_id is not None
    assert not any(a[0] == answered_away for a, _ in h.ari.called("hangup"))
    await destroyed(h, ringing, 19)  # followed after the restart
    assert (await call(h, ringing)).result is CallResult.UNANSWERED


async def test_a_room_ended_by_its_last_call_is_made_anew(
    h: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed = await h.engine.place_calls("cust-a", {"dest": [A], "room": "again"})
    await settle(h)
    await destroyed(h, placed["txn_refs"][0], 17)
    old = await h.conference(placed["conference_id"])
    assert old.status.value == "terminated"
    from confsvc.engine import dialout

    real, stale = dialout.room_for, [(old, False)]

    async def racing(*args: Any) -> Any:  # found just before it ended
        return stale.pop() if stale else await real(*args)

    monkeypatch.setattr(dialout, "room_for", racing)
    again = await h.engine.place_calls("cust-a", {"dest": [B], "room": "again"})
    await settle(h)
    assert again["conference_id"] != old.id and again["room"] == "again"
    assert (await h.conference(again["conference_id"])).status.value == "progressing"


async def test_a_dial_out_room_emptied_while_away_ends_after_a_restart(h: EngineHarness) -> None:
    placed = await h.engine.place_calls("cust-a", {"dest": [A], "room": "gone"})
    await settle(h)
    (txn,) = placed["txn_refs"]
    await answer(h, txn)
    assert (await call(h, txn)).conferencecall_id is not None
    h.ari.channels.pop(txn, None)  # the callee hung up while the controller was down
    bridge = h.ari.bridges[placed["conference_id"]]
    bridge.channels.remove(txn)
    engine = await h.restart()
    await engine.on_connect()
    await settle(h)
    assert (await call(h, txn)).result is CallResult.ANSWERED
    assert (await h.call_of(txn)).status.value == "leaved"
    assert (await h.conference(placed["conference_id"])).status.value == "terminated"
