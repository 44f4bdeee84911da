"""Conference state machine, admission rules, validation and JSON shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from confsvc.domain import conference as cm
from confsvc.domain.conference import (
    ArmTimeout,
    Conference,
    ConferenceStatus,
    ConferenceType,
    DestroyBridge,
    KickCall,
    StopRecording,
    is_expired,
    timeout_deadline,
)
from confsvc.domain.conference_create import create
from confsvc.domain.errors import ConferenceFull, InvalidTransition, ValidationFailed
from confsvc.domain.room import is_valid_room

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)
T2 = T0 + timedelta(seconds=2)
S = ConferenceStatus


def make(status: S = S.STARTING, calls: tuple[str, ...] = (), **kw) -> Conference:
    conf = create(customer_id="cust-1", now=T0, room="room1", **kw)
    return conf.model_copy(update={"status": status, "conferencecall_ids": calls})


# --- creation ------------------------------------------------------------------------


def test_create_defaults() -> None:
    conf = create(customer_id="cust-1", now=T0)
    assert conf.status is S.STARTING
    assert conf.type is ConferenceType.CONFERENCE
    assert conf.max_participants == 20
    assert conf.timeout == 0
    assert conf.data == {}
    assert conf.conferencecall_ids == ()
    assert conf.recording_id is None and conf.recording_ids == ()
    assert conf.tm_create == T0 and conf.tm_update is None and conf.tm_delete is None
    assert is_valid_room(conf.room) and len(conf.room) == 10
    assert conf.is_live


def test_create_connect_defaults_to_two() -> None:
    conf = create(customer_id="c", now=T0, type="connect")
    assert conf.type is ConferenceType.CONNECT
    assert conf.max_participants == 2


def test_create_uses_given_id_and_room() -> None:
    conf = create(customer_id="c", now=T0, id="bridge-1", room="Sales.Team_1")
    assert conf.id == "bridge-1" and conf.room == "Sales.Team_1"


def test_create_rejects_naive_time() -> None:
    with pytest.raises(ValueError):
        create(customer_id="c", now=datetime(2024, 1, 1))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"customer_id": ""}, "customer_id"),
        ({"type": "webinar"}, "type"),
        ({"name": "x" * 256}, "name"),
        ({"name": 5}, "name"),
        ({"detail": "x" * 2001}, "detail"),
        ({"room": "bad room"}, "room"),
        ({"room": ""}, "room"),
        ({"room": "r" * 33}, "room"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": 86401}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"timeout": 1.5}, "timeout"),
        ({"max_participants": 0}, "max_participants"),
        ({"max_participants": 21}, "max_participants"),
        ({"max_participants": 3, "type": "connect"}, "max_participants"),
        ({"data": []}, "data"),
        ({"data": {"x": float("nan")}}, "data"),
        ({"data": {"x": object()}}, "data"),
        ({"data": {1: "a"}}, "data"),
        ({"data": {"x": "y" * 20000}}, "data"),
    ],
)
def test_create_validation(kwargs: dict, field: str) -> None:
    args = {"customer_id": "c", "now": T0, **kwargs}
    with pytest.raises(ValidationFailed) as exc:
        create(**args)
    assert exc.value.field == field
    assert exc.value.code == "invalid_field"
    assert exc.value.http_status == 422


@pytest.mark.parametrize("timeout", [0, 1, 3600, 86400])
def test_create_timeout_bounds_ok(timeout: int) -> None:
    assert create(customer_id="c", now=T0, timeout=timeout).timeout == timeout


def test_limits_inclusive() -> None:
    conf = create(customer_id="c", now=T0, name="n" * 255, detail="d" * 2000, max_participants=1)
    assert len(conf.name) == 255 and conf.max_participants == 1


def test_data_is_copied() -> None:
    data = {"k": {"nested": [1, 2]}}
    conf = create(customer_id="c", now=T0, data=data)
    data["k"]["nested"].append(3)
    assert conf.data == {"k": {"nested": [1, 2]}}


# --- the transition matrix -------------------------------------------------------------

ACTIONS = {
    "start": lambda c: c.start(T1),
    "begin_terminate": lambda c: c.begin_terminate(T1),
    "finish_terminate": lambda c: c.finish_terminate(T1),
    "terminate_now": lambda c: c.terminate_now(T1),
    "terminate": lambda c: c.terminate(T1),
    "add_call": lambda c: c.add_call("new-call", T1),
    "update": lambda c: c.update(T1, name="renamed"),
}

# Rows: (status, has live callers). Columns follow COLS. None = refused (409).
COLS = tuple(ACTIONS)
P, G, D = S.PROGRESSING, S.TERMINATING, S.TERMINATED
# fmt: off
TABLE: dict[tuple[S, bool], tuple[S | None, ...]] = {
    (S.STARTING, False):    (P,    G,    None, D,    D,    None, S.STARTING),
    (S.PROGRESSING, False): (None, G,    None, D,    D,    P,    P),
    (S.PROGRESSING, True):  (None, G,    None, None, G,    P,    P),
    (S.TERMINATING, False): (None, None, D,    None, None, None, G),
    (S.TERMINATING, True):  (None, None, None, None, None, None, G),
    (S.TERMINATED, False):  (None, None, None, None, None, None, None),
}
# fmt: on
EXPECTED = {state: dict(zip(COLS, row, strict=True)) for state, row in TABLE.items()}


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [(st, a, res) for st, row in EXPECTED.items() for a, res in row.items()],
    ids=lambda v: v.value if isinstance(v, S) else str(v),
)
def test_transition_matrix(state: tuple[S, bool], action: str, expected: S | None) -> None:
    status, with_callers = state
    conf = make(status, ("call-a",) if with_callers else ())
    if expected is None:
        with pytest.raises(InvalidTransition) as exc:
            ACTIONS[action](conf)
        assert exc.value.code == "conference_invalid_state"
        assert exc.value.http_status == 409
        assert exc.value.current == status.value
    else:
        new, _ = ACTIONS[action](conf)
        assert new.status is expected
        assert new.tm_update == T1
        assert conf.status is status  # the original is untouched (immutable)
        if expected is not status:
            assert cm.can_transition(status, expected)


def test_every_transition_in_table_is_forward() -> None:
    order = list(S)
    for src, dsts in cm.TRANSITIONS.items():
        for dst in dsts:
            assert order.index(dst) > order.index(src)
    assert cm.TRANSITIONS[S.TERMINATED] == frozenset()


def test_start_arms_timeout_only_when_set() -> None:
    assert make(S.STARTING).start(T1)[1] == []
    conf, effects = make(S.STARTING, timeout=60).start(T1)
    assert effects == [ArmTimeout(conf.id, T0 + timedelta(seconds=60))]


def test_begin_terminate_kicks_everyone_and_stops_recording() -> None:
    conf = make(S.PROGRESSING, ("a", "b")).model_copy(
        update={"recording_id": "rec-1", "recording_ids": ("rec-1",)}
    )
    new, effects = conf.begin_terminate(T1)
    assert new.status is S.TERMINATING
    assert new.conferencecall_ids == ("a", "b")  # they leave via their leave events
    assert effects == [
        ArmTimeout(conf.id, None),
        StopRecording(conf.id, "rec-1"),
        KickCall("a"),
        KickCall("b"),
    ]


def test_finish_terminate_sets_tm_delete_and_destroys_bridge() -> None:
    new, effects = make(S.TERMINATING).finish_terminate(T2)
    assert new.status is S.TERMINATED and new.tm_delete == T2 and not new.is_live
    assert effects == [DestroyBridge(new.id)]


def test_terminate_now_effects() -> None:
    new, effects = make(S.PROGRESSING).terminate_now(T1)
    assert new.tm_delete == T1
    assert effects == [ArmTimeout(new.id, None), DestroyBridge(new.id)]


# --- participants ----------------------------------------------------------------------


def test_add_call_keeps_order_and_is_idempotent() -> None:
    conf = make(S.PROGRESSING)
    conf, _ = conf.add_call("a", T1)
    conf, _ = conf.add_call("b", T1)
    again, effects = conf.add_call("a", T2)
    assert again is conf and effects == []
    assert conf.conferencecall_ids == ("a", "b")


def test_add_call_refuses_beyond_max_participants() -> None:
    conf = make(S.PROGRESSING, max_participants=2)
    conf, _ = conf.add_call("a", T1)
    conf, _ = conf.add_call("b", T1)
    with pytest.raises(ConferenceFull) as exc:
        conf.add_call("c", T1)
    assert exc.value.code == "conference_full" and exc.value.max_participants == 2


def test_add_call_twenty_is_the_default_ceiling() -> None:
    conf = make(S.PROGRESSING, calls=tuple(f"c{i}" for i in range(19)))
    conf, _ = conf.add_call("c19", T1)
    with pytest.raises(ConferenceFull):
        conf.add_call("c20", T1)


def test_connect_admits_two_only() -> None:
    conf = make(S.PROGRESSING, ("a", "b"), type="connect")
    with pytest.raises(ConferenceFull):
        conf.add_call("c", T1)
    # Even a corrupted max_participants cannot lift the connect ceiling.
    assert conf.model_copy(update={"max_participants": 20}).capacity == 2


def test_remove_call_conference_type_stays_up_when_empty() -> None:
    conf, effects = make(S.PROGRESSING, ("a",)).remove_call("a", T1)
    assert conf.status is S.PROGRESSING and conf.conferencecall_ids == () and effects == []


def test_remove_unknown_call_is_noop() -> None:
    conf = make(S.PROGRESSING, ("a",))
    assert conf.remove_call("zzz", T1) == (conf, [])


def test_connect_one_leaves_other_is_kicked_then_terminated() -> None:
    conf = make(S.PROGRESSING, ("a", "b"), type="connect")
    conf, effects = conf.remove_call("a", T1)
    assert conf.status is S.TERMINATING
    assert conf.conferencecall_ids == ("b",)
    assert KickCall("b") in effects and KickCall("a") not in effects
    conf, effects = conf.remove_call("b", T2)
    assert conf.status is S.TERMINATED and conf.tm_delete == T2
    assert effects == [DestroyBridge(conf.id)]


def test_connect_lone_caller_leaving_terminates() -> None:
    conf, effects = make(S.PROGRESSING, ("a",), type="connect").remove_call("a", T1)
    assert conf.status is S.TERMINATED
    assert DestroyBridge(conf.id) in effects


def test_terminating_becomes_terminated_when_last_leaves() -> None:
    conf = make(S.TERMINATING, ("a", "b"))
    conf, effects = conf.remove_call("a", T1)
    assert conf.status is S.TERMINATING and effects == []
    conf, effects = conf.remove_call("b", T2)
    assert conf.status is S.TERMINATED and effects == [DestroyBridge(conf.id)]


# --- recordings ------------------------------------------------------------------------


def test_recording_start_and_stop() -> None:
    conf = make(S.PROGRESSING)
    conf, _ = conf.recording_started("r1", T1)
    assert conf.recording_id == "r1" and conf.recording_ids == ("r1",)
    with pytest.raises(InvalidTransition):
        conf.recording_started("r2", T1)
    conf, _ = conf.recording_stopped("r1", T2)
    assert conf.recording_id is None and conf.recording_ids == ("r1",)
    conf, _ = conf.recording_started("r2", T2)
    assert conf.recording_ids == ("r1", "r2")
    assert conf.recording_stopped("stale", T2) == (conf, [])


@pytest.mark.parametrize("status", [S.STARTING, S.TERMINATING, S.TERMINATED])
def test_recording_needs_progressing(status: S) -> None:
    with pytest.raises(InvalidTransition):
        make(status).recording_started("r1", T1)


# --- update and timeouts ---------------------------------------------------------------


def test_update_changes_fields_and_rearms_timeout() -> None:
    conf = make(S.PROGRESSING, timeout=60)
    new, effects = conf.update(T1, name="n", detail="d", timeout=120, data={"a": 1})
    assert (new.name, new.detail, new.timeout, new.data) == ("n", "d", 120, {"a": 1})
    assert effects == [ArmTimeout(conf.id, T0 + timedelta(seconds=120))]
    new, effects = new.update(T2, timeout=0)
    assert effects == [ArmTimeout(conf.id, None)]
    assert new.update(T2, name="again")[1] == []


def test_update_keeps_unspecified_fields() -> None:
    conf = make(S.PROGRESSING, name="keep", detail="keep-d", timeout=5)
    new, _ = conf.update(T1)
    assert (new.name, new.detail, new.timeout) == ("keep", "keep-d", 5)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"name": "x" * 256}, "name"), ({"timeout": -5}, "timeout"), ({"data": "x"}, "data")],
)
def test_update_validates(kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        make(S.PROGRESSING).update(T1, **kwargs)
    assert exc.value.field == field


def test_timeout_deadline_and_expiry() -> None:
    conf = make(S.PROGRESSING, timeout=10)
    assert timeout_deadline(conf) == T0 + timedelta(seconds=10)
    assert not is_expired(conf, T0 + timedelta(seconds=9))
    assert is_expired(conf, T0 + timedelta(seconds=10))
    assert timeout_deadline(make(S.PROGRESSING)) is None
    assert timeout_deadline(make(S.TERMINATING, timeout=10)) is None


# --- JSON ------------------------------------------------------------------------------


def test_to_json_shape() -> None:
    conf, _ = create(
        customer_id="cust-1", now=T0, room="room1", name="n", data={"k": "v"}, id="cid"
    ).start(T1)
    j = conf.to_json("pbx.example.com:5060")
    assert j == {
        "id": "cid",
        "customer_id": "cust-1",
        "type": "conference",
        "status": "progressing",
        "name": "n",
        "detail": "",
        "room": "room1",
        "dial_uri": "sip:room1@pbx.example.com:5060",
        "timeout": 0,
        "max_participants": 20,
        "data": {"k": "v"},
        "record": False,
        "record_format": "wav",
        "notify_url": None,
        "notify_method": "POST",
        "callback_url": None,
        "callback_method": "POST",
        "conferencecall_ids": [],
        "recording_id": None,
        "recording_ids": [],
        # participant control options (issue 5), all defaults
        "enter_sound": "",
        "exit_sound": "",
        "start_muted": False,
        "wait_for_moderator": False,
        "end_on_moderator_exit": False,
        "stay_alone": True,
        "wait_sound": "",
        "time_limit": 0,
        # Plivo per-member defaults (issue 19)
        "member_time_limit": 0,
        "start_conference_on_enter": True,
        "end_conference_on_exit": False,
        "action": "",
        "method": "POST",
        "redirect": True,
        "hangup_on_star": False,
        "digits_match": "",
        "relay_dtmf": False,
        "floor_events": False,
        "pin": "",
        "moderator_pin": "",
        "floor_conferencecall_id": None,
        "transcribe": False,
        "transcribe_language": None,
        "transcribe_id": None,
        "transcribe_ids": [],
        "transcription_type": None,
        "transcription_url": None,
        "pre_actions": [],
        "post_actions": [],
        "tm_create": "2024-05-01T12:00:00.000000Z",
        "tm_update": "2024-05-01T12:00:01.000000Z",
        "tm_delete": None,
    }
    j["data"]["k"] = "mutated"
    assert conf.data == {"k": "v"}


def test_the_floor_is_taken_and_released_as_transitions() -> None:
    conf, _ = create(customer_id="c", now=T0, room="floor").start(T0)
    held = conf.take_floor("call-1", T1)
    assert held.floor_conferencecall_id == "call-1" and held.tm_update == T1
    assert held.take_floor("call-1", T1) is held  # already the holder: no change
    assert held.release_floor("call-2", T1) is held  # someone else leaving: no change
    assert held.release_floor("call-1", T1).floor_conferencecall_id is None
