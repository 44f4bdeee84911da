"""Engine commands (what the API calls): create, update, delete, kick, and timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from confsvc.domain import (
    ConferencecallStatus,
    ConferenceStatus,
    InvalidTransition,
    RoomTaken,
    ValidationFailed,
)
from confsvc.domain import now as utcnow
from confsvc.engine import AsteriskUnavailable, NotFound
from tests.support.fake_ari import EngineHarness, engine_harness, eventually

C = ConferencecallStatus
S = ConferenceStatus


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path) as harness:
        yield harness


def hung_up(h: EngineHarness) -> list[str]:
    return [args[0] for args, _ in h.ari.called("hangup")]


def armed(h: EngineHarness) -> set[str]:
    return set(h.engine.timers._handles)


# --- create ----------------------------------------------------------------------------


async def test_create_makes_the_bridge_and_is_progressing(h: EngineHarness) -> None:
    conf = await h.create(room="weekly", name="Weekly", max_participants=5)
    assert conf.status is S.PROGRESSING
    assert h.ari.called("create_bridge") == [((conf.id,), {"type": "mixing", "name": "weekly"})]
    assert conf.id in h.ari.bridges
    stored = await h.conference(conf.id)
    assert stored == conf
    assert (stored.customer_id, stored.name, stored.max_participants) == ("cust-a", "Weekly", 5)
    assert armed(h) == set()  # no timeout, no timer


async def test_create_refuses_a_taken_room_without_touching_asterisk(h: EngineHarness) -> None:
    await h.create(room="r1")
    mark = h.ari.mark()
    with pytest.raises(RoomTaken):
        await h.create(room="r1")
    assert h.ari.names_since(mark) == []
    # Nor may another tenant take it while it is live.
    with pytest.raises(RoomTaken):
        await h.create("cust-b", room="r1")
    assert h.ari.names_since(mark) == []


async def test_create_refuses_invalid_fields_before_storing(h: EngineHarness) -> None:
    with pytest.raises(ValidationFailed):
        await h.create(room="a-b")
    assert h.ari.calls == []
    assert await h.store.list_live_conferences() == []


async def test_create_when_asterisk_is_down_stores_terminated_and_frees_the_room(
    h: EngineHarness,
) -> None:
    h.ari.fail_create_bridge = True
    with pytest.raises(AsteriskUnavailable) as info:
        await h.create(room="r1")
    assert info.value.http_status == 503
    ((args, _),) = h.ari.called("create_bridge")
    failed = await h.conference(args[0])
    assert failed.status is S.TERMINATED and failed.tm_delete is not None
    assert h.ari.called("destroy_bridge") == []
    assert await h.store.list_live_conferences() == []
    # The room is free again once Asterisk is back.
    h.ari.fail_create_bridge = False
    again = await h.create(room="r1")
    assert again.status is S.PROGRESSING and again.id != failed.id


# --- delete ----------------------------------------------------------------------------


async def test_delete_with_callers_is_terminating_and_hangs_them_up(h: EngineHarness) -> None:
    h.ari.auto_leave = False
    conf = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    await h.stasis_start("chan-2", "r1")  # still joining: kicked as well
    ending = await h.engine.delete_conference("cust-a", conf.id)
    assert ending.status is S.TERMINATING and ending.tm_delete is None
    assert sorted(hung_up(h)) == ["chan-1", "chan-2"]
    assert (await h.call_of("chan-1")).status is C.LEAVING
    assert (await h.call_of("chan-2")).status is C.LEAVING
    assert h.ari.called("destroy_bridge") == []
    with pytest.raises(InvalidTransition):  # already ending: 409
        await h.engine.delete_conference("cust-a", conf.id)


async def test_delete_with_callers_ends_terminated_once_they_left(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    await h.dial_in("chan-2", "r1")
    await h.engine.delete_conference("cust-a", conf.id)
    await h.engine.settle()  # the fake plays back the leave events
    end = await h.conference(conf.id)
    assert end.status is S.TERMINATED and end.conferencecall_ids == ()
    assert {(await h.call_of(c)).status for c in ("chan-1", "chan-2")} == {C.LEAVED}
    assert h.ari.called("destroy_bridge") == [((conf.id,), {})]


async def test_delete_empty_is_terminated_at_once(h: EngineHarness) -> None:
    conf = await h.create(room="r1", timeout=3600)
    assert armed(h) == {conf.id}
    ended = await h.engine.delete_conference("cust-a", conf.id)
    assert ended.status is S.TERMINATED and ended.tm_delete is not None
    assert h.ari.called("destroy_bridge") == [((conf.id,), {})]
    assert armed(h) == set()  # its timer went with it
    with pytest.raises(InvalidTransition):
        await h.engine.delete_conference("cust-a", conf.id)


async def test_delete_of_another_tenants_conference_is_not_found(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    with pytest.raises(NotFound) as info:
        await h.engine.delete_conference("cust-b", conf.id)
    assert info.value.http_status == 404
    assert (await h.conference(conf.id)).status is S.PROGRESSING
    with pytest.raises(NotFound):
        await h.engine.delete_conference("cust-a", "no-such-id")


# --- kick ------------------------------------------------------------------------------


async def test_kick_sets_leaving_and_the_leave_event_sets_leaved(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    call = await h.dial_in("chan-1", "r1")
    kicked = await h.engine.kick("cust-a", call.id)
    assert kicked.status is C.LEAVING and kicked.id == call.id
    assert hung_up(h) == ["chan-1"]
    await h.engine.settle()
    assert (await h.call_of("chan-1")).status is C.LEAVED
    after = await h.conference(conf.id)
    assert after.conferencecall_ids == () and after.status is S.PROGRESSING


async def test_kick_twice_is_an_invalid_transition(h: EngineHarness) -> None:
    await h.create(room="r1")
    call = await h.dial_in("chan-1", "r1")
    await h.engine.kick("cust-a", call.id)
    await h.engine.settle()
    with pytest.raises(InvalidTransition) as info:
        await h.engine.kick("cust-a", call.id)
    assert info.value.http_status == 409
    assert info.value.code == "conferencecall_invalid_state"
    assert len(h.ari.called("hangup")) == 1


async def test_kick_twice_while_still_leaving_is_an_invalid_transition(
    h: EngineHarness,
) -> None:
    h.ari.auto_leave = False
    await h.create(room="r1")
    call = await h.dial_in("chan-1", "r1")
    await h.engine.kick("cust-a", call.id)
    with pytest.raises(InvalidTransition) as info:
        await h.engine.kick("cust-a", call.id)
    assert info.value.http_status == 409 and "leaving" in info.value.message
    assert (await h.call_of("chan-1")).status is C.LEAVING


async def test_kick_of_another_tenants_call_is_not_found(h: EngineHarness) -> None:
    await h.create(room="r1")
    call = await h.dial_in("chan-1", "r1")
    with pytest.raises(NotFound) as info:
        await h.engine.kick("cust-b", call.id)
    assert info.value.http_status == 404
    assert (await h.call_of("chan-1")).status is C.JOINED
    assert hung_up(h) == []
    with pytest.raises(NotFound):
        await h.engine.kick("cust-a", "no-such-call")


# --- update ----------------------------------------------------------------------------


async def test_update_changes_fields_and_rearms_the_timer(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    updated = await h.engine.update_conference("cust-a", conf.id, name="new", timeout=3600)
    assert (updated.name, updated.timeout) == ("new", 3600)
    assert await h.conference(conf.id) == updated
    assert armed(h) == {conf.id}
    await h.engine.update_conference("cust-a", conf.id, timeout=0)
    assert armed(h) == set()
    with pytest.raises(NotFound):
        await h.engine.update_conference("cust-b", conf.id, name="x")


# --- timeout ---------------------------------------------------------------------------


async def test_a_conference_with_a_timeout_ends_by_itself(h: EngineHarness) -> None:
    """Real time: timeout=1 s, counted from tm_create."""
    conf = await h.create(room="r1", timeout=1)
    await h.dial_in("chan-1", "r1")

    async def ended() -> bool:
        return (await h.conference(conf.id)).status is S.TERMINATED

    await eventually(ended, timeout=3, step=0.02)
    await h.engine.settle()
    assert (await h.call_of("chan-1")).status is C.LEAVED
    assert hung_up(h) == ["chan-1"]
    assert h.ari.called("destroy_bridge") == [((conf.id,), {})]
    assert armed(h) == set()


async def test_an_early_timer_rearms_instead_of_ending(h: EngineHarness) -> None:
    conf = await h.create(room="r1", timeout=3600)
    h.engine.timers.cancel(conf.id)
    h.engine._timer_expired(conf.id)  # as if the timer fired now: 1 h too early
    await h.engine.settle()
    assert (await h.conference(conf.id)).status is S.PROGRESSING
    assert armed(h) == {conf.id}


async def test_a_due_timer_ends_the_conference(
    h: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = await h.create(room="r1", timeout=3600)
    later = utcnow() + timedelta(hours=2)
    monkeypatch.setattr(h.engine, "now", lambda: later)
    h.engine._timer_expired(conf.id)
    await h.engine.settle()
    ended = await h.conference(conf.id)
    assert ended.status is S.TERMINATED and ended.tm_delete == later
    assert armed(h) == set()


async def test_a_timer_for_an_ended_conference_does_nothing(h: EngineHarness) -> None:
    conf = await h.create(room="r1", timeout=3600)
    await h.engine.delete_conference("cust-a", conf.id)
    before = await h.snapshot()
    h.engine._timer_expired(conf.id)
    await h.engine.settle()
    assert await h.snapshot() == before
    assert armed(h) == set()
