"""Moderated rooms: who is a moderator (PIN entry), who waits muted for one, what callers
hear while waiting or alone, which DTMF patterns match, when a leave ends the room.
Pure rules over the models; the engine (engine/pin.py, moderation.py, dtmf.py) does I/O.

PIN entry (a caller dialling a room with `pin` and/or `moderator_pin`): answered, in
Stasis, NOT in the bridge (conferencecall `joining`, `waiting_for: "pin"`). Digits are
collected until `#` or a short pause (INTER_DIGIT_SECONDS; NO_INPUT_SECONDS before the
first digit); `*` starts the entry again. The moderator PIN makes a moderator, the PIN a
participant; with only a moderator PIN an empty entry (just `#`, or silence) makes a
participant. MAX_PIN_TRIES wrong entries hang the caller up."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from confsvc.domain.conference import Conference, ConferenceStatus
from confsvc.domain.conferencecall import Conferencecall, ConferencecallStatus
from confsvc.domain.member_options import MemberOptions, resolve
from confsvc.domain.options import ConferenceOptions, Role

MAX_PIN_TRIES = 3
INTER_DIGIT_SECONDS = 3.0
NO_INPUT_SECONDS = 10.0
# Digits further apart than this do not form a digits_match pattern together.
DIGITS_MATCH_GAP = timedelta(seconds=5)


# --- PIN entry -------------------------------------------------------------------------


def check_pin(options: ConferenceOptions, entered: str) -> Role | None:
    """The role the entered PIN gives, or None for a wrong one."""
    if options.moderator_pin and entered == options.moderator_pin:
        return Role.MODERATOR
    if options.pin and entered == options.pin:
        return Role.PARTICIPANT
    if not options.pin and entered == "":
        return Role.PARTICIPANT  # only a moderator PIN: everyone else just enters
    return None


@dataclass(frozen=True, slots=True)
class PinAccepted:
    role: Role


@dataclass(frozen=True, slots=True)
class PinRejected:
    failures: int
    final: bool  # MAX_PIN_TRIES reached: hang up


PinOutcome = PinAccepted | PinRejected


@dataclass(frozen=True, slots=True)
class PinEntry:
    """One caller's PIN entry so far (kept in memory; a restart asks again)."""

    digits: str = ""
    failures: int = 0

    def press(self, digit: str) -> tuple[PinEntry, bool]:
        """(entry, submit now?). `#` submits, `*` clears, other non-digits are ignored;
        an over-long entry is submitted (and will be wrong)."""
        if digit == "#":
            return self, True
        if digit == "*":
            return PinEntry("", self.failures), False
        if not digit.isdigit() or len(digit) != 1:
            return self, False
        entry = PinEntry(self.digits + digit, self.failures)
        return entry, len(entry.digits) > 32

    def submit(self, options: ConferenceOptions) -> tuple[PinEntry, PinOutcome]:
        role = check_pin(options, self.digits)
        if role is not None:
            return PinEntry("", self.failures), PinAccepted(role)
        failures = self.failures + 1
        return PinEntry("", failures), PinRejected(failures, failures >= MAX_PIN_TRIES)

    def timeout_seconds(self) -> float:
        return INTER_DIGIT_SECONDS if self.digits else NO_INPUT_SECONDS


# --- digits_match ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigitBuffer:
    """The caller's recent digits, for digits_match."""

    digits: str = ""
    last: datetime | None = None

    def press(
        self, digit: str, patterns: Iterable[str], now: datetime
    ) -> tuple[DigitBuffer, str | None]:
        """Add a digit; (buffer, the pattern the recent digits now end with, if any). A
        match empties the buffer; a pause longer than DIGITS_MATCH_GAP starts afresh."""
        pats = tuple(patterns)
        if not pats:
            return self, None
        recent = self.digits if self.last and now - self.last <= DIGITS_MATCH_GAP else ""
        digits = (recent + digit)[-max(len(p) for p in pats) :]
        for p in sorted(pats, key=len, reverse=True):
            if digits.endswith(p):
                return DigitBuffer("", now), p
        return DigitBuffer(digits, now), None


# --- who is in, who waits --------------------------------------------------------------

_PRESENT = frozenset({ConferencecallStatus.JOINING, ConferencecallStatus.JOINED})


def member_of(options: ConferenceOptions, call: Conferencecall) -> MemberOptions:
    """The call's options, resolved against the conference's (entered calls carry them
    resolved already; this also answers for one still entering)."""
    return resolve(options, call.role, call.member_options)


def conference_started(
    options: ConferenceOptions, calls: Iterable[Conferencecall], *, excluding: str | None = None
) -> bool:
    """A member with start_conference_on_enter is in the room or on the way into the
    bridge (past the PIN). (A moderator, unless told otherwise.)"""
    return any(
        c.status in _PRESENT
        and not c.pin_entry
        and c.id != excluding
        and member_of(options, c).start_conference_on_enter
        for c in calls
    )


def moderator_present(calls: Iterable[Conferencecall], *, excluding: str | None = None) -> bool:
    """A moderator is in the room or on the way into the bridge (past the PIN)."""
    return any(
        c.role is Role.MODERATOR and c.status in _PRESENT and not c.pin_entry and c.id != excluding
        for c in calls
    )


def initial_mute(member: MemberOptions, started: bool) -> tuple[bool, bool]:
    """(muted, held) for a member entering the bridge (member: resolved). held: muted only
    because the conference has not started (released when a member who starts it comes).
    `muted` mutes for good (until unmuted through the API)."""
    if not member.start_conference_on_enter and not started:
        return True, not member.muted
    return bool(member.muted), False


def wanted_wait_sound(conf: Conference, calls: Iterable[Conferencecall]) -> str | None:
    """What the room should play to everyone in it: the waiting sound while the members in
    it wait for the conference to start, wait_sound while one caller is alone, else None."""
    live = list(calls)
    joined = [c for c in live if c.status is ConferencecallStatus.JOINED]
    if not joined or conf.status is not ConferenceStatus.PROGRESSING:
        return None
    opts = conf.options
    if not conference_started(opts, live):
        return opts.waiting_sound
    if len(joined) == 1 and opts.wait_sound:
        return opts.wait_sound
    return None


def ends_after_leave(conf: Conference, left: Conferencecall) -> bool:
    """After `left` reached leaved (conf no longer holds it): does the room end? A member
    with end_conference_on_exit leaving (a moderator with end_on_moderator_exit), or one
    caller left alone without stay_alone (as FreeSWITCH's `mintwo`: only after there were
    two)."""
    if conf.status not in (ConferenceStatus.STARTING, ConferenceStatus.PROGRESSING):
        return False
    if left.pin_entry:
        return False  # never got in (wrong PIN, hung up while entering it)
    if member_of(conf.options, left).end_conference_on_exit:
        return True
    return not conf.options.stay_alone and len(conf.conferencecall_ids) == 1


def stay_alone_turned(conf: Conference, member: MemberOptions, now: datetime) -> Conference | None:
    """A member entering with stay_alone false turns the conference's stay_alone false,
    for good (seed 003: "it will not be updated to true if another member joins with the
    value for this attribute set to true"). None: the conference does not change."""
    if member.stay_alone is not False or not conf.options.stay_alone:
        return None
    options = conf.options.model_copy(update={"stay_alone": False})
    return conf.model_copy(update={"options": options, "tm_update": now})
