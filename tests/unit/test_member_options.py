"""Plivo's per-member <Conference> options (issue 19): the pure rules (resolve, relay
except digits_match, stay_alone turning false, the action URL's row, time_limit as the
conference's maximum duration) and the engine / API with the fake ARI."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from confsvc.domain import (
    ConferencecallStatus,
    ConferenceStatus,
    ValidationFailed,
    create_conference,
    create_conferencecall,
    timeout_deadline,
)
from confsvc.domain.member_options import (
    MemberOptions,
    relay_split,
    resolve,
    validate_member_options,
)
from confsvc.domain.moderation import (
    conference_started,
    ends_after_leave,
    initial_mute,
    stay_alone_turned,
)
from confsvc.domain.options import ConferenceOptions, Role, validate_options
from confsvc.events.member_action import action_delivery
from confsvc.events.model import Event
from confsvc.store.sqlite_schema import MIGRATIONS
from tests.support.fake_ari import EngineHarness, engine_harness
from tests.unit.test_member_moderation import dtmf, enter

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PART, MOD = Role.PARTICIPANT, Role.MODERATOR
C = ConferencecallStatus


# --- pure rules ---------------------------------------------------------------------------


def test_resolve_takes_the_member_value_else_the_conference_and_role_default() -> None:
    plain = ConferenceOptions()
    r = resolve(plain, PART, MemberOptions())
    assert (r.start_conference_on_enter, r.end_conference_on_exit, r.stay_alone, r.muted) == (
        True,
        False,
        True,
        False,
    )
    assert (r.action, r.method, r.redirect) == ("", "POST", True)
    waiting = validate_options({"wait_for_moderator": True, "moderator_pin": "9",
                                "end_on_moderator_exit": True, "start_muted": True})  # fmt: skip
    assert resolve(waiting, PART, MemberOptions()).start_conference_on_enter is False
    assert resolve(waiting, PART, MemberOptions()).muted is True
    mod = resolve(waiting, MOD, MemberOptions())
    assert mod.start_conference_on_enter and mod.end_conference_on_exit and not mod.muted
    own = MemberOptions(start_conference_on_enter=True, muted=False, action="https://a.example/x")
    assert resolve(waiting, PART, own).start_conference_on_enter is True
    assert resolve(waiting, PART, own).muted is False
    assert resolve(waiting, PART, own).action == "https://a.example/x"
    defaults = validate_options({"start_conference_on_enter": False, "action": "http://h/a",
                                 "method": "get", "end_conference_on_exit": True})  # fmt: skip
    r = resolve(defaults, PART, MemberOptions())
    assert (r.start_conference_on_enter, r.end_conference_on_exit, r.method) == (False, True, "GET")


def test_validate_member_options() -> None:
    m = validate_member_options(MemberOptions(), {"method": "get", "stay_alone": False})
    assert (m.method, m.stay_alone) == ("GET", False)
    assert validate_member_options(m, {"stay_alone": None}).stay_alone is None  # default again
    for bad, field in (
        ({"muted": "yes"}, "muted"),
        ({"method": "PUT"}, "method"),
        ({"action": "ftp://x/y"}, "action"),
        ({"bogus": True}, "bogus"),
    ):
        with pytest.raises(ValidationFailed) as err:
            validate_member_options(MemberOptions(), bad)
        assert err.value.field == field


@pytest.mark.parametrize(
    ("held", "digit", "patterns", "expected"),
    [
        ("", "5", ("123",), ("5", "")),  # never a pattern: relayed at once
        ("", "1", ("123",), ("", "1")),  # may become 123: held
        ("12", "3", ("123",), ("", "")),  # a pattern: never relayed
        ("12", "4", ("123",), ("124", "")),  # cannot become one: relayed in order
        ("1", "1", ("123",), ("1", "1")),  # the new 1 may still start 123
        ("#", "9", ("123", "#9"), ("", "")),
        ("", "7", (), ("7", "")),
    ],
)
def test_relay_split(
    held: str, digit: str, patterns: tuple[str, ...], expected: tuple[str, str]
) -> None:
    assert relay_split(held, digit, patterns) == expected


def _call(call_id: str, role: Role = PART, **member: Any) -> Any:
    c = create_conferencecall(
        conference_id="conf-1", customer_id="c", reference_id=f"ch-{call_id}", now=T0, id=call_id
    )
    joined = c.joined(T0)[0]
    return joined.model_copy(update={"role": role, "member_options": MemberOptions(**member)})


def test_conference_starts_with_a_member_who_starts_it() -> None:
    opts = validate_options({"start_conference_on_enter": False})
    waiter = _call("a")
    starter = _call("b", start_conference_on_enter=True)
    assert not conference_started(opts, [waiter])
    assert conference_started(opts, [waiter, starter])
    assert not conference_started(opts, [waiter, starter], excluding="b")
    assert initial_mute(resolve(opts, PART, waiter.member_options), False) == (True, True)
    assert initial_mute(resolve(opts, PART, starter.member_options), False) == (False, False)


def test_end_conference_on_exit_and_stay_alone_turn_false_for_good() -> None:
    conf = create_conference(customer_id="c", now=T0, room="r1").model_copy(
        update={"status": ConferenceStatus.PROGRESSING, "conferencecall_ids": ("x", "y")}
    )
    assert ends_after_leave(conf, _call("a", end_conference_on_exit=True))
    assert not ends_after_leave(conf, _call("a"))
    turned = stay_alone_turned(conf, MemberOptions(stay_alone=False), T0)
    assert turned is not None and turned.options.stay_alone is False
    assert stay_alone_turned(turned, MemberOptions(stay_alone=True), T0) is None  # stays false
    assert stay_alone_turned(conf, MemberOptions(stay_alone=True), T0) is None
    alone = turned.model_copy(update={"conferencecall_ids": ("y",)})
    assert ends_after_leave(alone, _call("a"))


def test_time_limit_is_the_conferences_maximum_duration() -> None:
    conf = create_conference(
        customer_id="c", now=T0, room="r1", timeout=600, options={"time_limit": 60}
    ).model_copy(update={"status": ConferenceStatus.PROGRESSING})
    assert timeout_deadline(conf) == T0 + timedelta(seconds=60)  # the shorter wins
    longer = conf.model_copy(update={"timeout": 30})
    assert timeout_deadline(longer) == T0 + timedelta(seconds=30)
    member_only = create_conference(
        customer_id="c", now=T0, room="r2", options={"member_time_limit": 60}
    ).model_copy(update={"status": ConferenceStatus.PROGRESSING})
    assert timeout_deadline(member_only) is None


def test_migration_moves_the_old_per_caller_time_limit() -> None:
    """Migration 10's REPLACE on a row written before it (msgspec's compact JSON)."""
    (sql,) = [s for v, stmts in MIGRATIONS if v == 10 for s in stmts if "REPLACE" in s]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE conferences (options TEXT)")
    db.execute("""INSERT INTO conferences VALUES ('{"stay_alone":true,"time_limit":600}')""")
    db.execute(sql)
    (row,) = db.execute("SELECT options FROM conferences").fetchall()
    assert row[0] == '{"stay_alone":true,"member_time_limit":600}'
    opts = validate_options(json.loads(row[0]))
    assert (opts.member_time_limit, opts.time_limit) == (600, 0)


def _leaved_event(data: dict[str, Any]) -> Event:
    return Event(
        id="ev-1",
        type="conferencecall_leaved",
        customer_id="c",
        conference_id="conf-1",
        resource_id=str(data["id"]),
        timestamp=T0,
        data=data,
        seq=7,
    )


def test_action_row_carries_the_seeds_parameters() -> None:
    conf = create_conference(
        customer_id="c", now=T0, room="board", options={"action": "https://app.example/left"}
    ).model_copy(update={"recording_ids": ("rec-1",)})
    call = _call("m1")
    row = action_delivery(_leaved_event(call.to_json()), conf, "http://ctl:8080/")
    assert row is not None and (row.url, row.method) == ("https://app.example/left", "POST")
    assert parse_qs(row.body) == {
        "ConferenceName": ["board"],
        "ConferenceUUID": [conf.id],
        "ConferenceMemberID": ["m1"],
        "RecordUrl": ["http://ctl:8080/v1/recordings/rec-1/file"],
        "RecordingID": ["rec-1"],
    }
    own = _call("m2", action="https://other.example/a", method="GET")
    row = action_delivery(_leaved_event(own.to_json()), conf, "http://ctl:8080")
    assert row is not None and (row.url, row.method, row.content_type) == (
        "https://other.example/a",
        "GET",
        "",
    )
    off = _call("m3", action="")
    assert action_delivery(_leaved_event(off.to_json()), conf, "http://ctl") is None
    pin = _call("m4").model_copy(update={"pin_entry": True})
    assert action_delivery(_leaved_event(pin.to_json()), conf, "http://ctl") is None
    other_tenant = conf.model_copy(update={"customer_id": "other"})
    assert action_delivery(_leaved_event(call.to_json()), other_tenant, "http://ctl") is None


# --- engine (fake ARI) ------------------------------------------------------------------------


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path) as harness:
        yield harness


async def test_a_member_set_to_start_the_conference_releases_the_waiting(
    h: EngineHarness,
) -> None:
    conf = await h.create(room="r1", options={"pin": "1111", "start_conference_on_enter": False})
    waiter = await enter(h, "chan-1", "r1", "1111")
    assert waiter.muted and waiter.held
    assert h.ari.called("start_bridge_moh") == [((conf.id, "default"), {})]
    await h.stasis_start("chan-2", "r1")
    pending = await h.call_of("chan-2")
    changes = {"start_conference_on_enter": True, "end_conference_on_exit": True}
    set_ = await h.engine.set_member_options("cust-a", pending.id, changes)
    assert set_.member_options.start_conference_on_enter is True
    await dtmf(h, "chan-2", "1111#")
    await h.entered("chan-2", conf.id)
    starter = await h.call_of("chan-2")
    assert not starter.muted and not (await h.call_of("chan-1")).held
    assert h.ari.called("stop_bridge_moh") == [((conf.id,), {})]
    with pytest.raises(Exception) as err:  # joined: too late
        await h.engine.set_member_options("cust-a", starter.id, {"muted": True})
    assert getattr(err.value, "code", "") == "conferencecall_invalid_state"
    await h.caller_hangs_up("chan-2")  # end_conference_on_exit
    await h.engine.settle()
    assert (await h.conference(conf.id)).status is ConferenceStatus.TERMINATED


async def test_stay_alone_false_member_turns_the_room_false(h: EngineHarness) -> None:
    conf = await h.create(room="r1", options={"pin": "1111"})
    await enter(h, "chan-1", "r1", "1111")
    await h.stasis_start("chan-2", "r1")
    pending = await h.call_of("chan-2")
    await h.engine.set_member_options("cust-a", pending.id, {"stay_alone": False})
    await dtmf(h, "chan-2", "1111#")
    await h.entered("chan-2", conf.id)
    assert (await h.conference(conf.id)).options.stay_alone is False
    await h.caller_hangs_up("chan-2")
    await h.engine.settle()
    assert (await h.conference(conf.id)).status is ConferenceStatus.TERMINATED
    assert (await h.call_of("chan-1")).status is C.LEAVED


async def test_a_recording_started_by_record_true_stops_at_24_hours(h: EngineHarness) -> None:
    """VoIPBIN's "Maximum duration: 24 hours": no max_duration given is 86400 s, for
    Asterisk and for the stored recording (its own timer)."""
    conf = await h.create(room="r1", record=True)
    await h.dial_in("chan-1", "r1")
    await h.engine.settle()
    ((_, kwargs),) = h.ari.called("record_bridge")
    assert kwargs["max_duration_seconds"] == 86400
    rec_id = (await h.conference(conf.id)).recording_id
    assert rec_id is not None
    rec = await h.store.get_recording(rec_id)
    assert rec is not None and rec.max_duration == 86400
    assert rec.deadline is not None
