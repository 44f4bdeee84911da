"""Dial-out domain (pure): request validation with the seed's codes, allow-list, caps,
how a call ended (ARI causes), billing minutes, the seed's notification parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from confsvc.domain.dialout import (
    CallResult,
    CallStatus,
    billed_minutes,
    call_result,
    create_calls,
    seed_date,
)
from confsvc.domain.dialout_rules import (
    RING_TIMEOUT_DEFAULT,
    DialoutError,
    check_allowed,
    check_call_cap,
    check_room_capacity,
    max_calls,
    parse_allow,
    parse_request,
)

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
A, B = "+6511111111", "+6522222222"


def refused(body: dict[str, Any]) -> DialoutError:
    with pytest.raises(DialoutError) as info:
        parse_request(body)
    return info.value


# --- validation -------------------------------------------------------------------------


def test_a_valid_request_with_every_field() -> None:
    req = parse_request(
        {
            "destinations": [A, B],
            "room": "board.2",
            "caller_id": "+6560000000",
            "tag": "t" * 256,
            "notify_url": "https://app.example/notify",
            "timeout": 4,
        }
    )
    assert req.destinations == (A, B)
    assert (req.room, req.caller_id, req.tag, req.timeout) == ("board.2", "+6560000000",
                                                               "t" * 256, 4)  # fmt: skip
    assert req.notify_url == "https://app.example/notify"


def test_defaults_and_the_seeds_comma_separated_dest() -> None:
    req = parse_request({"dest": f"{A}, {B}"})
    assert req.destinations == (A, B)
    assert req.room is None and req.caller_id == "" and req.tag is None
    assert req.notify_url is None and req.timeout == RING_TIMEOUT_DEFAULT
    assert parse_request({"dest": [A], "caller_id": "private"}).caller_id == "private"
    assert parse_request({"dest": A, "timeout": "12"}).timeout == 12  # a form field


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "error_dest_param_missing", "dest"),
        ({"dest": ""}, "error_dest_param_missing", "dest"),
        ({"destinations": None}, "error_dest_param_missing", "dest"),
        ({"dest": []}, "error_dest_invalid", "dest"),
        ({"destinations": ["6511111111"]}, "error_dest_invalid", "destinations"),
        ({"dest": ["+0651111111"]}, "error_dest_invalid", "dest"),
        ({"dest": ["+65"]}, "error_dest_invalid", "dest"),
        ({"dest": ["+6511111111x"]}, "error_dest_invalid", "dest"),
        ({"dest": ["+1234567890123456"]}, "error_dest_invalid", "dest"),
        ({"dest": [f"+65111111{i:02}" for i in range(9)]}, "error_dest_invalid", "dest"),
        ({"dest": [A, A]}, "error_dest_invalid", "dest"),
        ({"dest": [6511111111]}, "error_dest_invalid", "dest"),
        ({"dest": {"a": 1}}, "error_dest_invalid", "dest"),
        ({"dest": [A], "room": "no spaces"}, "error_invalid_room", "room"),
        ({"dest": [A], "room": "r" * 33}, "error_invalid_room", "room"),
        ({"dest": [A], "room": ""}, "error_invalid_room", "room"),
        ({"dest": [A], "caller_id": "12345"}, "error_invalid_caller_id", "caller_id"),
        ({"dest": [A], "tag": "t" * 257}, "error_tag_invalid_length", "tag"),
        ({"dest": [A], "notify_url": "ftp://x.example/"}, "error_invalid_notify_url", "notify_url"),
        ({"dest": [A], "notify_url": "not a url"}, "error_invalid_notify_url", "notify_url"),
        ({"dest": [A], "timeout": 0}, "error_invalid_timeout", "timeout"),
        ({"dest": [A], "timeout": 121}, "error_invalid_timeout", "timeout"),
        ({"dest": [A], "timeout": True}, "error_invalid_timeout", "timeout"),
        ({"dest": [A], "timeout": "4s"}, "error_invalid_timeout", "timeout"),
    ],
)
def test_bad_values_get_the_seeds_codes(body: dict[str, Any], code: str, field: str) -> None:
    err = refused(body)
    assert (err.code, err.field, err.http_status) == (code, field, 422)
    assert err.message


@pytest.mark.parametrize(
    "body",
    [
        {"dest": [A], "app_id": "x"},
        {"dest": [A], "destinations": [B]},
        {"dest": [A], "tag": 5},
    ],
)
def test_malformed_params_are_400(body: dict[str, Any]) -> None:
    err = refused(body)
    assert (err.code, err.http_status) == ("error_malformed_params", 400)


def test_null_is_not_given() -> None:
    """The OpenAPI document allows null for both: found by schemathesis (issue 11)."""
    assert parse_request({"dest": None, "destinations": [A]}).destinations == (A,)
    assert parse_request({"dest": A, "destinations": None}).destinations == (A,)
    assert refused({"dest": None, "destinations": None}).code == "error_dest_param_missing"


def test_missing_dest_is_reported_before_other_problems() -> None:
    assert refused({"tag": "t" * 300}).code == "error_dest_param_missing"
    assert refused({"dest": "bad", "tag": "t" * 300}).code == "error_dest_invalid"


# --- allow-list and caps ----------------------------------------------------------------


def test_allow_list_parsing_and_checks() -> None:
    allow = "tenant-a:+65|+1, tenant-b:+44,broken,tenant-c:"
    assert parse_allow(allow) == {"tenant-a": ("+65", "+1"), "tenant-b": ("+44",)}
    check_allowed("tenant-a", (A, "+15550100440"), allow)
    with pytest.raises(DialoutError) as info:
        check_allowed("tenant-a", (A, "+441234567"), allow)
    assert (info.value.code, info.value.http_status) == ("error_dest_not_supported", 403)
    for tenant in ("tenant-c", "nobody"):  # not listed (or no prefixes): nothing allowed
        with pytest.raises(DialoutError):
            check_allowed(tenant, (A,), allow)
    with pytest.raises(DialoutError):
        check_allowed("tenant-a", (A,), "")  # the default: none allowed
    check_allowed("t", ("+999999999",), "t:+")  # "+" allows every number


def test_concurrent_call_cap_per_tenant() -> None:
    assert max_calls("a", 8, "") == 8
    assert max_calls("a", 8, "a:20, b:2") == 20
    assert max_calls("b", 8, "a:20,b:2") == 2
    assert max_calls("c", 8, "a:20,b:x") == 8
    check_call_cap(6, 2, 8)
    with pytest.raises(DialoutError) as info:
        check_call_cap(7, 2, 8)
    assert (info.value.code, info.value.http_status) == ("error_concurrent_call_limit_reached",
                                                         409)  # fmt: skip


def test_room_capacity() -> None:
    check_room_capacity(6, 2, 8)
    with pytest.raises(DialoutError) as info:
        check_room_capacity(7, 2, 8)
    assert (info.value.code, info.value.http_status) == ("error_room_full", 409)


# --- how a call ended -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answered", "cause", "timed_out", "cancelled", "result"),
    [
        (True, 16, False, False, CallResult.ANSWERED),
        (True, 17, False, False, CallResult.ANSWERED),  # Up was seen: answered, whatever
        (False, 17, False, False, CallResult.BUSY),
        (False, 19, False, False, CallResult.UNANSWERED),  # our ring timeout (ARI)
        (False, 18, False, False, CallResult.UNANSWERED),
        (False, 16, True, False, CallResult.UNANSWERED),  # rang out
        (False, 16, False, True, CallResult.UNANSWERED),  # we stopped the ringing
        (False, 34, False, False, CallResult.FAILED),  # congestion
        (False, 38, False, False, CallResult.FAILED),  # network out of order
        (False, 1, False, False, CallResult.FAILED),  # unallocated number
        (False, 21, False, False, CallResult.FAILED),  # rejected
        (False, None, False, False, CallResult.FAILED),  # never dialled
        (False, 16, False, False, CallResult.FAILED),
    ],
)
def test_call_result_from_ari(
    answered: bool, cause: int | None, timed_out: bool, cancelled: bool, result: CallResult
) -> None:
    got = call_result(answered=answered, cause=cause, timed_out=timed_out, cancelled=cancelled)
    assert got is result


@pytest.mark.parametrize(
    ("ms", "minutes"),
    [(0, 0), (1, 1), (59_999, 1), (60_000, 1), (60_001, 2), (61_000, 2), (3_600_000, 60)],
)
def test_duration_is_billed_in_whole_minutes_rounded_up(ms: int, minutes: int) -> None:
    assert billed_minutes(ms) == minutes


def one_call(**kw: Any) -> Any:
    fields = dict(customer_id="c", conference_id="conf", room="r", destinations=(A,),
                  now=T0, timeout=30)  # fmt: skip
    fields.update(kw)
    return create_calls(**fields)[0]


def test_a_call_moves_forward_only_and_ends_once() -> None:
    call = one_call(tag="mine", notify_url="https://n.example/")
    assert call.status is CallStatus.QUEUED and call.is_open
    dialing = call.dialing(T0)
    ringing = dialing.ringing(T0 + timedelta(seconds=1))
    assert ringing.dialing(T0 + timedelta(seconds=2)) is ringing  # a late event: no step back
    up = ringing.answered(T0 + timedelta(seconds=2))
    assert up.ringing(T0 + timedelta(seconds=3)) is up
    ended = up.ended(T0 + timedelta(seconds=63), cause=16, cause_txt="Normal Clearing")
    assert ended.status is CallStatus.ENDED and not ended.is_open
    assert ended.result is CallResult.ANSWERED
    assert (ended.duration_ms, ended.to_json()["duration"]) == (61_000, 2)
    assert ended.ended(T0 + timedelta(seconds=99), cause=17) is ended
    assert up.to_json()["duration"] is None and up.to_json()["call_status_dest"] is None


def test_ring_timeout_from_the_clock_and_never_dialled_calls() -> None:
    call = one_call(timeout=4).dialing(T0).ringing(T0)
    assert call.ended(T0 + timedelta(seconds=4), cause=16).result is CallResult.UNANSWERED
    assert call.ended(T0 + timedelta(seconds=1), cause=16).result is CallResult.FAILED
    queued = one_call()
    assert queued.ended(T0, cancelled=True).result is CallResult.FAILED


def test_calls_of_a_request_share_it_and_keep_their_order() -> None:
    calls = create_calls(customer_id="c", conference_id="conf", room="r", destinations=(A, B),
                         now=T0, timeout=30)  # fmt: skip
    assert [c.dest for c in calls] == [A, B] and [c.position for c in calls] == [0, 1]
    assert calls[0].request_id == calls[1].request_id and calls[0].id != calls[1].id
    assert calls[0].tm_create < calls[1].tm_create


def test_the_seeds_notification_parameters() -> None:
    call = one_call(tag="order-42").dialing(T0).answered(T0 + timedelta(seconds=5))
    ended = call.ended(T0 + timedelta(seconds=70), cause=16)
    params = ended.notify_params()
    assert params == {
        "dest": A,
        "call_status_dest": "answered",
        "call_state": "ended",
        "txn_ref": ended.id,
        "tag": "order-42",
        "date": "2030-01-01 20:00:00",  # GMT+8, as the seed writes it
        "duration": "2",
        "duration_ms": "65000",
        "room": "r",
    }
    untagged = one_call().ended(T0, cause=17).notify_params()
    assert "tag" not in untagged and untagged["duration"] == "0"
    assert seed_date(datetime(2030, 12, 31, 20, 30, tzinfo=UTC)) == "2031-01-01 04:30:00"


def test_member_options_for_the_callees() -> None:
    """An object (JSON) or its JSON text (a form); each field checked; none: defaults."""
    req = parse_request({"dest": A, "member_options": {"muted": True, "stay_alone": False}})
    assert (req.member_options.muted, req.member_options.stay_alone) == (True, False)
    req = parse_request({"dest": A, "member_options": '{"start_conference_on_enter": false}'})
    assert req.member_options.start_conference_on_enter is False
    assert parse_request({"dest": A}).member_options.muted is None
    for bad in ({"muted": "yes"}, {"colour": True}, "not json", ["muted"]):
        err = refused({"dest": A, "member_options": bad})
        assert err.field == "member_options" and err.code == "error_malformed_params"
