"""Conferencecall state machine, health bookkeeping and JSON shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from confsvc.domain import conferencecall as ccm
from confsvc.domain.conferencecall import (
    Conferencecall,
    ConferencecallStatus,
    EjectChannel,
    check_health,
    create,
    record_health,
)
from confsvc.domain.errors import InvalidTransition, ValidationFailed

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)
S = ConferencecallStatus


def make(status: S = S.JOINING) -> Conferencecall:
    call = create(
        conference_id="conf-1",
        customer_id="cust-1",
        reference_id="chan-1",
        now=T0,
        caller_number="+6511111111",
        caller_name="Alice",
        id="cc-1",
    )
    return call.model_copy(update={"status": status})


def test_create_defaults() -> None:
    call = make()
    assert call.status is S.JOINING and call.is_live and call.is_kickable
    assert call.reference_type.value == "call"
    assert call.health_failures == 0
    assert call.tm_update is None and call.tm_delete is None


def test_create_generates_id() -> None:
    call = create(conference_id="c", customer_id="u", reference_id="ch", now=T0)
    assert len(call.id) == 36 and call.caller.number == "" and call.caller.name == ""


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"conference_id": ""}, "conference_id"),
        ({"customer_id": ""}, "customer_id"),
        ({"reference_id": ""}, "reference_id"),
        ({"caller_number": "1" * 65}, "caller.number"),
        ({"caller_name": "n" * 256}, "caller.name"),
    ],
)
def test_create_validation(kwargs: dict, field: str) -> None:
    args = {"conference_id": "c", "customer_id": "u", "reference_id": "ch", "now": T0}
    with pytest.raises(ValidationFailed) as exc:
        create(**{**args, **kwargs})
    assert exc.value.field == field


ACTIONS = {
    "joined": lambda c: c.joined(T1),
    "leaving": lambda c: c.kick(T1),
    "leaved": lambda c: c.leaved(T1),
}
EXPECTED: dict[S, dict[str, S | None]] = {
    S.JOINING: {"joined": S.JOINED, "leaving": S.LEAVING, "leaved": S.LEAVED},
    S.JOINED: {"joined": None, "leaving": S.LEAVING, "leaved": S.LEAVED},
    S.LEAVING: {"joined": None, "leaving": None, "leaved": S.LEAVED},
    S.LEAVED: {"joined": None, "leaving": None, "leaved": None},
}


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [(st, a, res) for st, row in EXPECTED.items() for a, res in row.items()],
    ids=str,
)
def test_transition_matrix(status: S, action: str, expected: S | None) -> None:
    call = make(status)
    if expected is None:
        with pytest.raises(InvalidTransition) as exc:
            ACTIONS[action](call)
        assert exc.value.code == "conferencecall_invalid_state"
        assert exc.value.http_status == 409
        assert not ccm.can_transition(status, S(action))
    else:
        new, effects = ACTIONS[action](call)
        assert new.status is expected and new.tm_update == T1
        assert call.status is status
        assert ccm.can_transition(status, expected)
        if action == "leaving":
            assert effects == [EjectChannel("conf-1", "chan-1")]
        else:
            assert effects == []


def test_table_is_forward_only() -> None:
    order = list(S)
    for src, dsts in ccm.TRANSITIONS.items():
        assert all(order.index(d) > order.index(src) for d in dsts)


def test_leaved_is_history_not_deleted() -> None:
    call, _ = make(S.JOINED).leaved(T1)
    assert not call.is_live and not call.is_kickable and call.tm_delete is None


def test_record_health_two_consecutive_failures_remove() -> None:
    call = make(S.JOINED)
    call, remove = record_health(call, False)
    assert call.health_failures == 1 and not remove
    call, remove = record_health(call, True)
    assert call.health_failures == 0 and not remove
    call, remove = record_health(call, False)
    assert not remove
    call, remove = record_health(call, False)
    assert call.health_failures == 2 and remove
    assert call.tm_update is None  # bookkeeping does not count as an update


def test_record_health_success_without_failures_returns_same() -> None:
    call = make(S.JOINED)
    assert record_health(call, True) == (call, False)


@pytest.mark.parametrize(
    ("alive", "progressing", "age", "ok"),
    [
        (True, True, timedelta(hours=1), True),
        (False, True, timedelta(hours=1), False),
        (True, False, timedelta(hours=1), False),
        (True, True, timedelta(hours=24), False),
        (True, True, timedelta(hours=23, minutes=59), True),
    ],
)
def test_check_health(alive: bool, progressing: bool, age: timedelta, ok: bool) -> None:
    got = check_health(
        make(S.JOINED), channel_alive=alive, conference_progressing=progressing, now=T0 + age
    )
    assert got is ok


def test_to_json_shape() -> None:
    call, _ = make().joined(T1)
    assert call.to_json() == {
        "id": "cc-1",
        "customer_id": "cust-1",
        "conference_id": "conf-1",
        "reference_type": "call",
        "reference_id": "chan-1",
        "status": "joined",
        "caller": {"number": "+6511111111", "name": "Alice"},
        "role": "participant",
        "muted": False,
        "deaf": False,
        "talking": False,
        "waiting_for": None,
        # Plivo per-member options (issue 19): null = the conference default
        "start_conference_on_enter": None,
        "end_conference_on_exit": None,
        "stay_alone": None,
        "action": None,
        "method": None,
        "redirect": None,
        "tm_create": "2024-05-01T12:00:00.000000Z",
        "tm_update": "2024-05-01T12:00:01.000000Z",
        "tm_delete": None,
    }


def test_leaving_by_itself_ejects_nothing_a_kick_ejects() -> None:
    call = make(S.JOINED)
    assert call.leaving(T1).status is S.LEAVING
    kicked, effects = call.kick(T1)
    assert kicked.status is S.LEAVING and effects == [EjectChannel("conf-1", "chan-1")]
