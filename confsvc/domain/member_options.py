"""Per-member options of Plivo's <Conference> element (seed 003), set on one conferencecall
before it joins; the conference's options are their defaults. Pure rules, no I/O.

    start_conference_on_enter  true: the conference starts (is in progress) when this
                               member joins. false: while it has not started, the member
                               is muted and hears music until a member with true joins.
    end_conference_on_exit     true: this member leaving ends the conference for all.
    stay_alone                 false: from this member's join on, the conference ends when a
                               member is alone in it (the conference's stay_alone turns
                               false for good, as the seed words it).
    muted                      the member joins muted (the others do not hear it).
    action / method            the URL invoked (GET or POST) when the member leaves the
                               conference (events/member_action.py).
    redirect                   accepted and shown; confsvc runs no Plivo XML, so there is no
                               "next element" (see the README).
A field left null takes the conference default when the member enters the room; the
entered member carries the resolved values (resolve)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from confsvc.domain.errors import ValidationFailed
from confsvc.domain.options import (
    ConferenceOptions,
    Role,
    validate_action,
    validate_method,
)

BOOL_FIELDS = ("start_conference_on_enter", "end_conference_on_exit", "stay_alone", "redirect")


class MemberOptions(BaseModel):
    """One member's options; None = the conference default (not yet resolved)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start_conference_on_enter: bool | None = None
    end_conference_on_exit: bool | None = None
    stay_alone: bool | None = None
    muted: bool | None = None
    action: str | None = None
    method: str | None = None
    redirect: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump()


MEMBER_FIELDS: tuple[str, ...] = tuple(MemberOptions.model_fields)


def validate_member_options(
    current: MemberOptions, changes: Mapping[str, Any], *, allow_muted: bool = True
) -> MemberOptions:
    """`current` with `changes` applied, each checked (ValidationFailed names the field).
    null sets a field back to the conference default."""
    fields: dict[str, Any] = current.model_dump()
    for name, value in changes.items():
        if name not in MEMBER_FIELDS or (name == "muted" and not allow_muted):
            raise ValidationFailed(name, "unknown field")
        if value is None:
            fields[name] = None
        elif name in (*BOOL_FIELDS, "muted"):
            if not isinstance(value, bool):
                raise ValidationFailed(name, "must be a boolean or null")
            fields[name] = value
        elif name == "action":
            fields[name] = validate_action(value)
        else:
            fields[name] = validate_method(value)
    return MemberOptions(**fields)


def _pick(own: bool | None, default: bool) -> bool:
    return default if own is None else own


def resolve(opts: ConferenceOptions, role: Role, own: MemberOptions) -> MemberOptions:
    """Every field concrete: the member's own value, else the conference's default. The
    PIN role gives the defaults of the moderated-room options: a moderator starts the
    conference and ends it on exit with end_on_moderator_exit; a participant waits with
    wait_for_moderator and joins muted with start_muted."""
    moderator = role is Role.MODERATOR
    start = moderator or (opts.start_conference_on_enter and not opts.wait_for_moderator)
    end = opts.end_conference_on_exit or (moderator and opts.end_on_moderator_exit)
    return MemberOptions(
        start_conference_on_enter=_pick(own.start_conference_on_enter, start),
        end_conference_on_exit=_pick(own.end_conference_on_exit, end),
        stay_alone=_pick(own.stay_alone, opts.stay_alone),
        muted=_pick(own.muted, opts.start_muted and not moderator),
        action=opts.action if own.action is None else own.action,
        method=own.method or opts.method,
        redirect=_pick(own.redirect, opts.redirect),
    )


def starts_conference(opts: ConferenceOptions, role: Role, own: MemberOptions) -> bool:
    return bool(resolve(opts, role, own).start_conference_on_enter)


# --- relay_dtmf: every digit except those of a digits_match pattern ----------------------


def relay_split(held: str, digit: str, patterns: Iterable[str]) -> tuple[str, str]:
    """(digits to relay now, digits to hold back). Digits that may still become a
    digits_match pattern are held; a completed pattern is dropped (never relayed); held
    digits that can no longer be one are relayed, in order. The caller relays what is
    still held when the caller pauses (DIGITS_MATCH_GAP)."""
    pats = tuple(p for p in patterns if p)
    seq = held + digit
    if not pats:
        return seq, ""
    for p in sorted(pats, key=len, reverse=True):
        if seq.endswith(p):
            return seq[: -len(p)], ""
    for keep in range(min(len(seq), max(len(p) for p in pats) - 1), 0, -1):
        tail = seq[-keep:]
        if any(p.startswith(tail) for p in pats):
            return seq[:-keep], tail
    return seq, ""
