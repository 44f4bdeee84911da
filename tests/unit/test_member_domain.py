"""Participant control in the domain: conference options (validation, field names),
member transitions of a conferencecall, and the moderation rules (PIN entry, digits,
who waits, what the room plays, when a leave ends it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from confsvc.domain import (
    Conferencecall,
    ConferencecallStatus,
    ConferenceStatus,
    InvalidTransition,
    ValidationFailed,
    create_conference,
    create_conferencecall,
)
from confsvc.domain.conferencecall import MuteChannel
from confsvc.domain.member_options import MemberOptions, resolve
from confsvc.domain.moderation import (
    DIGITS_MATCH_GAP,
    INTER_DIGIT_SECONDS,
    MAX_PIN_TRIES,
    NO_INPUT_SECONDS,
    DigitBuffer,
    PinAccepted,
    PinEntry,
    PinRejected,
    check_pin,
    ends_after_leave,
    initial_mute,
    moderator_present,
    wanted_wait_sound,
)
from confsvc.domain.options import ConferenceOptions, Role, validate_media, validate_options

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)
MOD, PART = Role.MODERATOR, Role.PARTICIPANT


def opts(**kw: Any) -> ConferenceOptions:
    return validate_options(kw)


# --- options ---------------------------------------------------------------------------


def test_defaults_are_a_plain_room() -> None:
    o = validate_options(None)
    assert o == ConferenceOptions()
    assert not o.needs_pin and o.stay_alone and o.patterns == ()
    assert o.waiting_sound == "default"


def test_every_option_is_accepted() -> None:
    o = opts(
        enter_sound="beep:1",
        exit_sound="https://example.com/bye.wav",
        start_muted=True,
        wait_for_moderator=True,
        end_on_moderator_exit=True,
        stay_alone=False,
        wait_sound="default",
        time_limit=600,
        hangup_on_star=True,
        digits_match=" 123 , #9 ",
        relay_dtmf=True,
        floor_events=True,
        pin="1234",
        moderator_pin="9999",
    )
    assert o.digits_match == "123,#9" and o.patterns == ("123", "#9")
    assert o.needs_pin and o.to_json()["exit_sound"] == "https://example.com/bye.wav"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("enter_sound", "beep:3"),
        ("enter_sound", 5),
        ("exit_sound", "ftp://example.com/x.wav"),
        ("exit_sound", "../../etc/passwd"),
        ("exit_sound", "http://"),
        ("enter_sound", "http://example.com/a,b.wav"),
        ("enter_sound", "http://example.com/a b.wav"),
        ("enter_sound", "http://example.com/" + "a" * 1100),
        ("start_muted", "yes"),
        ("wait_for_moderator", 1),
        ("end_on_moderator_exit", None),
        ("stay_alone", "false"),
        ("wait_sound", "beep:1"),
        ("wait_sound", "no such class!"),
        ("time_limit", -1),
        ("time_limit", 86401),
        ("time_limit", True),
        ("time_limit", 1.5),
        ("hangup_on_star", "true"),
        ("digits_match", "12a"),
        ("digits_match", "1,,2"),
        ("digits_match", ",".join(["1"] * 11)),
        ("digits_match", "1" * 17),
        ("relay_dtmf", 0),
        ("floor_events", "on"),
        ("pin", "12ab"),
        ("pin", 1234),
        ("moderator_pin", "1" * 17),
        ("colour", "red"),
    ],
)
def test_bad_option_names_its_field(field: str, value: Any) -> None:
    with pytest.raises(ValidationFailed) as err:
        validate_options({field: value})
    assert err.value.field == field


def test_moderator_options_need_a_moderator_pin() -> None:
    for name in ("wait_for_moderator", "end_on_moderator_exit"):
        with pytest.raises(ValidationFailed) as err:
            opts(**{name: True}, pin="1234")
        assert err.value.field == name
        assert opts(**{name: True}, moderator_pin="9").moderator_pin == "9"


def test_the_two_pins_differ() -> None:
    with pytest.raises(ValidationFailed) as err:
        opts(pin="1234", moderator_pin="1234")
    assert err.value.field == "moderator_pin"


def test_media_values() -> None:
    for ok in ("beep:1", "beep:2", "conf-onlyperson", "digits/5", "HTTPS://x.org/a.mp3#t"):
        assert validate_media(ok, "media", allow_empty=False) == ok
    assert validate_media("", "enter_sound", allow_empty=True) == ""
    with pytest.raises(ValidationFailed) as err:
        validate_media("", "media", allow_empty=False)
    assert err.value.field == "media"


def test_conference_carries_its_options_in_json() -> None:
    conf = create_conference(
        customer_id="c", now=T0, room="r1", options={"pin": "1", "enter_sound": "beep:2"}
    )
    j = conf.to_json("h:5060")
    assert j["pin"] == "1" and j["enter_sound"] == "beep:2" and j["stay_alone"] is True
    assert j["floor_conferencecall_id"] is None
    with pytest.raises(ValidationFailed) as err:
        create_conference(customer_id="c", now=T0, room="r1", options={"time_limit": -5})
    assert err.value.field == "time_limit"


# --- conferencecall member transitions -------------------------------------------------


def call(**kw: Any) -> Conferencecall:
    c = create_conferencecall(
        conference_id="conf-1", customer_id="cust", reference_id="chan-1", now=T0, id="cc-1"
    )
    if "status" in kw:
        kw["status"] = ConferencecallStatus(kw["status"])
    return c.model_copy(update=kw)


def test_mute_unmute_deaf_undeaf_give_ari_effects() -> None:
    c, effects = call().joined(T1)[0].set_muted(True, T1)
    assert c.muted and effects == [MuteChannel("chan-1", "in", True)]
    c, effects = c.set_muted(False, T1)
    assert not c.muted and effects == [MuteChannel("chan-1", "in", False)]
    c, effects = c.set_deaf(True, T1)
    assert c.deaf and effects == [MuteChannel("chan-1", "out", True)]
    c, effects = c.set_deaf(False, T1)
    assert not c.deaf and effects == [MuteChannel("chan-1", "out", False)]


def test_repeating_a_mute_changes_nothing() -> None:
    c = call(muted=True, deaf=True)
    assert c.set_muted(True, T1) == (c, [])
    assert c.set_deaf(True, T1) == (c, [])
    plain = call()
    assert plain.set_muted(False, T1) == (plain, [])  # ARI's unmute toggles: never sent


@pytest.mark.parametrize("status", ["leaving", "leaved"])
def test_no_control_once_leaving(status: str) -> None:
    c = call(status=status)
    for change in (
        lambda: c.set_muted(True, T1),
        lambda: c.set_muted(False, T1),
        lambda: c.set_deaf(True, T1),
        c.check_playable,
    ):
        with pytest.raises(InvalidTransition) as err:
            change()
        assert err.value.code == "conferencecall_invalid_state"


def test_play_only_while_joined() -> None:
    with pytest.raises(InvalidTransition):
        call().check_playable()  # joining
    call(status="joined").check_playable()


def test_hold_release_and_explicit_choices() -> None:
    c, effects = call().hold(T1)
    assert (c.muted, c.held) == (True, True) and effects == [MuteChannel("chan-1", "in", True)]
    assert c.to_json()["waiting_for"] == "moderator"
    released, effects = c.release(T1)
    assert (released.muted, released.held) == (False, False)
    assert effects == [MuteChannel("chan-1", "in", False)]
    # muted through the API while held: stays muted after the release
    kept, effects = c.set_muted(True, T1)
    assert kept.muted and not kept.held and effects == []
    assert kept.release(T1) == (kept, [])
    # an already muted caller is not held (and so not released)
    muted = call(muted=True)
    assert muted.hold(T1) == (muted, [])


def test_entering_sets_role_and_entry_mute() -> None:
    c = call(pin_entry=True)
    assert c.to_json()["waiting_for"] == "pin"
    entered, effects = c.entering(MOD, False, False, T1)
    assert entered.role is MOD and not entered.pin_entry and effects == []
    held, effects = call().entering(PART, True, True, T1)
    assert held.held and effects == [MuteChannel("chan-1", "in", True)]
    pre, effects = call(muted=True).entering(PART, False, False, T1)
    assert pre.muted and not pre.held and effects == []


def test_joined_records_the_join_time_and_talking_is_bookkeeping() -> None:
    c, _ = call().joined(T1)
    assert c.tm_join == T1
    t = c.set_talking(True, T1)
    assert t.talking and t.set_talking(True, T1) is t


# --- PIN entry -------------------------------------------------------------------------


def test_check_pin_roles() -> None:
    both = opts(pin="1111", moderator_pin="9999")
    assert check_pin(both, "1111") is PART and check_pin(both, "9999") is MOD
    assert check_pin(both, "") is None and check_pin(both, "1234") is None
    mod_only = opts(moderator_pin="9999")
    assert check_pin(mod_only, "") is PART and check_pin(mod_only, "9999") is MOD
    assert check_pin(mod_only, "1") is None


def test_pin_entry_digits_hash_star_and_tries() -> None:
    o = opts(pin="42")
    e, submit = PinEntry().press("4")
    assert e.digits == "4" and not submit and e.timeout_seconds() == INTER_DIGIT_SECONDS
    assert PinEntry().timeout_seconds() == NO_INPUT_SECONDS
    e, _ = e.press("x")
    cleared, _ = e.press("*")
    assert cleared.digits == ""
    e, _ = e.press("2")
    e, submit = e.press("#")
    assert submit and e.submit(o)[1] == PinAccepted(PART)
    entry = PinEntry()
    for n in range(1, MAX_PIN_TRIES + 1):
        entry, _ = entry.press("7")
        entry, outcome = entry.submit(o)
        assert outcome == PinRejected(n, n == MAX_PIN_TRIES) and entry.digits == ""
    long = PinEntry("1" * 32)
    assert long.press("1")[1] is True


# --- digits_match ----------------------------------------------------------------------


def test_digit_buffer_matches_patterns_in_time() -> None:
    pats = ("123", "#9")
    b, now = DigitBuffer(), T0
    matched = []
    for d in "5123#9":
        b, m = b.press(d, pats, now)
        matched.append(m)
        now += timedelta(milliseconds=300)
    assert matched == [None, None, None, "123", None, "#9"]
    b, _ = DigitBuffer().press("1", pats, T0)
    b, _ = b.press("2", pats, T0 + DIGITS_MATCH_GAP + timedelta(seconds=1))
    assert b.press("3", pats, T0 + DIGITS_MATCH_GAP + timedelta(seconds=2))[1] is None
    assert DigitBuffer().press("1", (), T0) == (DigitBuffer(), None)


# --- who waits, what plays, when a leave ends the room ---------------------------------


def conference(**options: Any) -> Any:
    conf = create_conference(customer_id="c", now=T0, room="r1", options=options)
    return conf.start(T0)[0]


def joined(call_id: str, role: Role = PART, **kw: Any) -> Conferencecall:
    c = create_conferencecall(
        conference_id="conf-1", customer_id="c", reference_id=f"ch-{call_id}", now=T0, id=call_id
    )
    return c.joined(T1)[0].model_copy(update={"role": role, **kw})


def test_initial_mute_rules() -> None:
    def mute(o: ConferenceOptions, role: Role, started: bool) -> tuple[bool, bool]:
        return initial_mute(resolve(o, role, MemberOptions()), started)

    wait = opts(wait_for_moderator=True, moderator_pin="9")
    assert mute(wait, MOD, False) == (False, False)
    assert mute(wait, PART, False) == (True, True)
    assert mute(wait, PART, True) == (False, False)
    both = opts(wait_for_moderator=True, moderator_pin="9", start_muted=True)
    assert mute(both, PART, False) == (True, False)
    assert mute(opts(start_muted=True), PART, False) == (True, False)
    assert mute(opts(start_muted=True), MOD, False) == (False, False)


def test_moderator_present() -> None:
    m = joined("m", MOD)
    assert moderator_present([joined("p"), m]) and not moderator_present([joined("p")])
    assert not moderator_present([m], excluding="m")
    assert not moderator_present([m.model_copy(update={"pin_entry": True})])
    assert not moderator_present([m.model_copy(update={"status": ConferencecallStatus.LEAVING})])


def test_wanted_wait_sound() -> None:
    wait = conference(wait_for_moderator=True, moderator_pin="9")
    assert wanted_wait_sound(wait, []) is None
    assert wanted_wait_sound(wait, [joined("p")]) == "default"
    assert wanted_wait_sound(wait, [joined("p"), joined("m", MOD)]) is None
    alone = conference(wait_sound="https://x.org/hold.wav")
    assert wanted_wait_sound(alone, [joined("p")]) == "https://x.org/hold.wav"
    assert wanted_wait_sound(alone, [joined("p"), joined("q")]) is None
    assert wanted_wait_sound(conference(), [joined("p")]) is None


def test_ends_after_leave() -> None:
    ending = conference(end_on_moderator_exit=True, moderator_pin="9")
    assert ends_after_leave(ending, joined("m", MOD))
    assert not ends_after_leave(ending, joined("p"))
    assert not ends_after_leave(ending, joined("m", MOD, pin_entry=True))
    lonely = conference(stay_alone=False).model_copy(update={"conferencecall_ids": ("x",)})
    assert ends_after_leave(lonely, joined("p"))
    two_left = lonely.model_copy(update={"conferencecall_ids": ("x", "y")})
    assert not ends_after_leave(two_left, joined("p"))
    assert not ends_after_leave(conference().model_copy(update={"conferencecall_ids": ("x",)}),
                                joined("p"))  # fmt: skip
    done = lonely.model_copy(update={"status": ConferenceStatus.TERMINATING})
    assert not ends_after_leave(done, joined("p"))
