"""Dial-out in the engine (real Engine + SqliteStore, fake ARI): sequential originates,
answered calls joining the room, causes -> results, the call_ended event and the seed's
notification row (one transaction), cancelling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from confsvc.domain.dialout import CallResult, CallStatus
from tests.support.dialout import (
    ALLOW,
    A,
    B,
    C,
    answer,
    call,
    channel,
    destroyed,
    ended_events,
    hang_up_answered,
    notify_rows,
    place,
    ring,
    settle,
)
from tests.support.fake_ari import EngineHarness, engine_harness, eventually


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(
        tmp_path, dialout_allow=ALLOW, caller_ids="cust-a:+6560000000"
    ) as harness:
        yield harness


# --- placing -----------------------------------------------------------------------------


async def test_originates_one_after_another_in_destination_order(h: EngineHarness) -> None:
    conf = await h.create(room="board")
    inflight, peak = 0, 0
    plain = h.ari.originate

    async def slow(*args: Any, **kw: Any) -> Any:
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        await asyncio.sleep(0.02)
        inflight -= 1
        return await plain(*args, **kw)

    h.ari.originate = slow  # type: ignore[method-assign]
    txns = await place(h, conf.id, A, B, C, caller_id="+6560000000", timeout=7)
    assert peak == 1  # never two originates at once
    calls = h.ari.called("originate")
    assert [a[0] for a, _ in calls] == [f"PJSIP/{n}@trunk" for n in (A, B, C)]
    assert [k["channel_id"] for _, k in calls] == txns  # channel id = txn_ref
    for (_, kw), txn in zip(calls, txns, strict=True):
        assert kw["app_args"] == ["dialout", txn]
        assert (kw["caller_id"], kw["timeout"], kw["variables"]) == ("+6560000000", 7, None)
    for txn, dest in zip(txns, (A, B, C), strict=True):
        got = await call(h, txn)
        assert (got.status, got.dest, got.conference_id) == (CallStatus.DIALING, dest, conf.id)


async def test_private_caller_id_is_withheld(h: EngineHarness) -> None:
    conf = await h.create(room="board")
    await place(h, conf.id, A, caller_id="private")
    (_, kw), *_ = h.ari.called("originate")
    assert kw["caller_id"] is None and kw["variables"] == {"CALLERID(pres)": "prohib"}


async def test_answered_call_joins_the_room_as_the_destination(h: EngineHarness) -> None:
    conf = await h.create(room="board")
    (txn,) = await place(h, conf.id, A, tag="t1", notify_url="https://n.example/hook")
    await ring(h, txn)
    assert (await call(h, txn)).status is CallStatus.RINGING
    await answer(h, txn)
    got = await call(h, txn)
    assert got.status is CallStatus.ANSWERED and got.tm_answer is not None
    member = await h.call_of(txn)
    assert (member.status.value, member.reference_type.value) == ("joined", "call")
    assert member.reference_id == txn and member.caller.number == A
    assert got.conferencecall_id == member.id
    assert (await h.conference(conf.id)).conferencecall_ids == (member.id,)
    await hang_up_answered(h, txn)
    got = await call(h, txn)
    assert (got.status, got.result) == (CallStatus.ENDED, CallResult.ANSWERED)
    assert (await h.call_of(txn)).status.value == "leaved"
    (data,) = await ended_events(h)
    assert data["txn_ref"] == txn and data["call_status_dest"] == "answered"
    (params,) = await notify_rows(h)
    assert params["txn_ref"] == txn and params["call_status_dest"] == "answered"
    assert params["tag"] == "t1" and params["dest"] == A


@pytest.mark.parametrize(
    ("cause", "text", "result"),
    [
        (17, "User busy", CallResult.BUSY),
        (19, "User alerting, no answer", CallResult.UNANSWERED),
        (34, "Circuit/channel congestion", CallResult.FAILED),
        (38, "Network out of order", CallResult.FAILED),
        (1, "Unallocated (unassigned) number", CallResult.FAILED),
    ],
)
async def test_unanswered_ends_map_from_the_cause(
    h: EngineHarness, cause: int, text: str, result: CallResult
) -> None:
    conf = await h.create(room="board")
    (txn,) = await place(h, conf.id, A, notify_url="https://n.example/hook")
    await ring(h, txn)
    await destroyed(h, txn, cause, text)
    got = await call(h, txn)
    assert (got.status, got.result, got.hangup_cause) == (CallStatus.ENDED, result, cause)
    assert got.hangup_cause_txt == text and got.duration_ms == 0
    (params,) = await notify_rows(h)
    assert params["call_status_dest"] == result.value and params["duration"] == "0"
    assert await h.calls_of(txn) == []  # never in the room


async def test_hangup_request_cause_counts_when_destroyed_says_nothing(h: EngineHarness) -> None:
    conf = await h.create(room="board")
    (txn,) = await place(h, conf.id, A)
    await h.send({"type": "ChannelHangupRequest", "cause": 17, "channel": channel(txn, "Down")})
    await destroyed(h, txn, 0)
    assert (await call(h, txn)).result is CallResult.BUSY


async def test_duration_is_rounded_up_to_minutes(h: EngineHarness) -> None:
    conf = await h.create(room="board")
    clock = [datetime(2030, 1, 1, tzinfo=UTC)]
    h.engine.now = lambda: clock[0]  # type: ignore[method-assign]
    (txn,) = await place(h, conf.id, A, notify_url="https://n.example/hook")
    await answer(h, txn)
    clock[0] += timedelta(seconds=61)
    await hang_up_answered(h, txn)
    got = await call(h, txn)
    assert (got.duration_ms, got.to_json()["duration"]) == (61_000, 2)
    (params,) = await notify_rows(h)
    assert (params["duration"], params["duration_ms"]) == ("2", "61000")


async def test_a_refused_originate_ends_as_failed_and_the_next_is_dialled(
    h: EngineHarness,
) -> None:
    conf = await h.create(room="board")
    h.ari.fail_originate.add(f"PJSIP/{A}@trunk")
    first, second = await place(h, conf.id, A, B, notify_url="https://n.example/hook")
    assert (await call(h, first)).result is CallResult.FAILED
    assert (await call(h, second)).status is CallStatus.DIALING
    assert [p["txn_ref"] for p in await notify_rows(h)] == [first]


async def test_the_conference_going_away_stops_the_ringing(h: EngineHarness) -> None:
    conf = await h.create(room="board")
    ringing, up = await place(h, conf.id, A, B)
    await ring(h, ringing)
    await answer(h, up)
    await h.engine.delete_conference("cust-a", conf.id)  # kicks the answered one
    await h.engine.settle()
    await destroyed(h, up, 16)
    assert (await h.conference(conf.id)).status.value == "terminated"
    await h.send({"type": "BridgeDestroyed", "bridge": {"id": conf.id}})
    assert any(a[0] == ringing for a, _ in h.ari.called("hangup"))
    await destroyed(h, ringing, 16)
    assert (await call(h, ringing)).result is CallResult.UNANSWERED
    assert (await call(h, up)).result is CallResult.ANSWERED


async def test_calls_queued_for_a_conference_that_ended_are_not_dialled(
    h: EngineHarness,
) -> None:
    conf = await h.create(room="board")
    gate, plain = asyncio.Event(), h.ari.originate

    async def held(*args: Any, **kw: Any) -> Any:
        await gate.wait()  # the first originate is in flight while the DELETE comes
        return await plain(*args, **kw)

    h.ari.originate = held  # type: ignore[method-assign]
    placed = await h.engine.place_calls("cust-a", {"dest": [A, B]}, conf.id)
    await eventually(lambda: h.engine.lanes._workers.get(conf.id) is not None)
    deleting = asyncio.create_task(h.engine.delete_conference("cust-a", conf.id))
    await asyncio.sleep(0.01)
    gate.set()
    await deleting
    await settle(h)
    first, second = placed["txn_refs"]
    assert [k["channel_id"] for _, k in h.ari.called("originate")] == [first]
    got = await call(h, second)
    assert (got.status, got.result, got.tm_dial) == (CallStatus.ENDED, CallResult.FAILED, None)
    assert got.hangup_cause_txt == "not dialled: the conference has ended"


async def test_an_answer_after_the_conference_ended_is_hung_up(h: EngineHarness) -> None:
    conf = await h.create(room="board")
    (txn,) = await place(h, conf.id, A)
    await h.engine.delete_conference("cust-a", conf.id)
    await h.engine.settle()
    await answer(h, txn)
    assert any(a[0] == txn for a, _ in h.ari.called("hangup"))
    await destroyed(h, txn, 16)
    assert (await call(h, txn)).result is CallResult.ANSWERED  # it was picked up


async def test_a_stranger_in_stasis_with_dialout_args_is_refused(h: EngineHarness) -> None:
    await h.send({"type": "StasisStart", "args": ["dialout", "x"], "channel": channel("y")})
    assert h.ari.called("hangup")[0][0][0] == "y"


async def test_a_callee_joins_with_the_requests_member_options(h: EngineHarness) -> None:
    """Plivo's per-member options given when dialling out (issue 19): stored on the call,
    carried by the callee's conferencecall, and applied when it enters (muted here)."""
    conf = await h.create(room="board")
    options = {"muted": True, "end_conference_on_exit": True, "action": "https://a.example/x"}
    (txn,) = await place(h, conf.id, A, member_options=options)
    assert (await call(h, txn)).member_options.end_conference_on_exit is True
    await answer(h, txn)
    member = await h.call_of(txn)
    assert member.status.value == "joined" and member.muted is True
    assert member.member_options.end_conference_on_exit is True
    assert member.member_options.action == "https://a.example/x"
    assert h.ari.called("mute")  # the callee's audio is held back from the room
