"""Conferencecall: one participant (a call leg) in a conference, and its state machine.

    joining -> joined -> leaving -> leaved        (forward only; leaved is terminal)
    joining -> leaving      kicked before the audio was connected
    joining -> leaved       hung up before being joined
    joined  -> leaved       hung up / vanished (no kick involved)

Style (shared with conference.py): the model is immutable; every transition is a method
returning `(new_call, effects)`. Effects are plain data the engine turns into ARI commands.
A kick only moves the call to `leaving`; the leave event that follows sets `leaved`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from confsvc.domain.errors import InvalidTransition, ValidationFailed
from confsvc.domain.ids import ensure_utc, new_id, to_iso
from confsvc.domain.member_options import MemberOptions
from confsvc.domain.options import Role

CALLER_NUMBER_MAX = 64
CALLER_NAME_MAX = 255
# Seed health check: a participant older than this is removed.
MAX_CALL_AGE = timedelta(hours=24)
# Seed health check: remove "after 2 retries" -> the 2nd consecutive failed check removes.
HEALTH_MAX_FAILURES = 2


class ConferencecallStatus(StrEnum):
    JOINING = "joining"
    JOINED = "joined"
    LEAVING = "leaving"
    LEAVED = "leaved"


class ReferenceType(StrEnum):
    CALL = "call"


S = ConferencecallStatus
# The whole machine in one table; tests walk it.
TRANSITIONS: dict[ConferencecallStatus, frozenset[ConferencecallStatus]] = {
    S.JOINING: frozenset({S.JOINED, S.LEAVING, S.LEAVED}),
    S.JOINED: frozenset({S.LEAVING, S.LEAVED}),
    S.LEAVING: frozenset({S.LEAVED}),
    S.LEAVED: frozenset(),
}
LIVE_STATUSES = frozenset({S.JOINING, S.JOINED, S.LEAVING})
KICKABLE_STATUSES = frozenset({S.JOINING, S.JOINED})


def can_transition(src: ConferencecallStatus, dst: ConferencecallStatus) -> bool:
    return dst in TRANSITIONS[src]


# --- effects ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EjectChannel:
    """Take the call's channel out of the conference bridge (a dial-in caller has nowhere
    else to go, so the engine hangs the channel up). The resulting leave event is what
    finally moves the call to `leaved`."""

    conference_id: str
    channel_id: str


@dataclass(frozen=True, slots=True)
class MuteChannel:
    """ARI mute / unmute of the caller's channel: direction "in" = what the caller says
    does not reach the room (muted), "out" = nothing reaches the caller (deaf)."""

    channel_id: str
    direction: str
    on: bool


ConferencecallEffect = EjectChannel | MuteChannel


# --- model -----------------------------------------------------------------------------


class Caller(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    number: str = ""
    name: str = ""


class Conferencecall(BaseModel):
    """A participant. `reference_id` is the ARI channel id of the call leg."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    customer_id: str
    conference_id: str
    reference_type: ReferenceType = ReferenceType.CALL
    reference_id: str
    status: ConferencecallStatus = S.JOINING
    caller: Caller = Caller()
    # Consecutive failed health checks; internal bookkeeping, not part of the API JSON.
    health_failures: int = 0
    # Member controls (seed 003; confsvc/engine/member.py). held: muted only because the
    # room waits for a moderator; pin_entry: answered, entering the PIN, not in the bridge.
    role: Role = Role.PARTICIPANT
    muted: bool = False
    deaf: bool = False
    talking: bool = False
    held: bool = False
    pin_entry: bool = False
    tm_join: AwareDatetime | None = None  # when it entered the bridge (joined)
    # Plivo's per-member options (domain/member_options.py); null: the conference default.
    member_options: MemberOptions = MemberOptions()
    tm_create: AwareDatetime
    tm_update: AwareDatetime | None = None
    tm_delete: AwareDatetime | None = None

    @property
    def is_live(self) -> bool:
        """Still counted in the conference (not yet `leaved`)."""
        return self.status in LIVE_STATUSES

    @property
    def is_kickable(self) -> bool:
        return self.status in KICKABLE_STATUSES

    # --- transitions -----------------------------------------------------------------

    def _move(self, dst: ConferencecallStatus, action: str, now: datetime) -> Conferencecall:
        if not can_transition(self.status, dst):
            raise InvalidTransition("conferencecall", self.status.value, action)
        return self.model_copy(update={"status": dst, "tm_update": ensure_utc(now)})

    def joined(self, now: datetime) -> tuple[Conferencecall, list[ConferencecallEffect]]:
        """Audio connected (the channel entered the bridge). joining -> joined."""
        call = self._move(S.JOINED, "join", now)
        return call.model_copy(update={"tm_join": call.tm_update}), []

    def kick(self, now: datetime) -> tuple[Conferencecall, list[ConferencecallEffect]]:
        """Removed by us (DELETE /conferencecalls/{id}, conference termination, connect
        auto-eject, time limit): leaving, and the channel must be ejected. Only from
        joining/joined; a call already leaving or leaved is refused (409)."""
        call = self._move(S.LEAVING, "kick", now)
        return call, [EjectChannel(self.conference_id, self.reference_id)]

    def leaving(self, now: datetime) -> Conferencecall:
        """The caller is going by itself (hung up, left the bridge): nothing to eject."""
        return self._move(S.LEAVING, "leave", now)

    def leaved(self, now: datetime) -> tuple[Conferencecall, list[ConferencecallEffect]]:
        """Fully disconnected (left the bridge / hung up). Terminal. Per the seed example a
        leaved call keeps tm_delete unset: the record is history, not deleted."""
        return self._move(S.LEAVED, "leave", now), []

    # --- member controls (the engine carries out the MuteChannel effects) -------------

    def _control(self, action: str, now: datetime, **changes: Any) -> Conferencecall:
        if self.status not in KICKABLE_STATUSES:  # leaving/leaved: 409
            raise InvalidTransition("conferencecall", self.status.value, action)
        return self.model_copy(update={**changes, "tm_update": ensure_utc(now)})

    def set_muted(self, muted: bool, now: datetime) -> tuple[Conferencecall, list[MuteChannel]]:
        """API mute/unmute (joining or joined). An explicit choice ends `held`: a caller
        unmuted while waiting for a moderator stays unmuted, one muted stays muted."""
        if self.status in KICKABLE_STATUSES and muted == self.muted and not self.held:
            return self, []  # nothing changes (ARI's unmute would toggle: never repeat it)
        call = self._control("mute" if muted else "unmute", now, muted=muted, held=False)
        effects = [MuteChannel(self.reference_id, "in", muted)] if muted != self.muted else []
        return call, effects

    def set_deaf(self, deaf: bool, now: datetime) -> tuple[Conferencecall, list[MuteChannel]]:
        if self.status in KICKABLE_STATUSES and deaf == self.deaf:
            return self, []
        call = self._control("deafen" if deaf else "undeafen", now, deaf=deaf)
        return call, [MuteChannel(self.reference_id, "out", deaf)]

    def hold(self, now: datetime) -> tuple[Conferencecall, list[MuteChannel]]:
        """The room waits for a moderator: muted (held) unless already muted."""
        if self.muted or not self.is_kickable:
            return self, []
        call = self._control("hold", now, muted=True, held=True)
        return call, [MuteChannel(self.reference_id, "in", True)]

    def release(self, now: datetime) -> tuple[Conferencecall, list[MuteChannel]]:
        """A moderator came: a held caller is heard again."""
        if not self.held or not self.is_kickable:
            return self, []
        call = self._control("release", now, muted=False, held=False)
        return call, [MuteChannel(self.reference_id, "in", False)]

    def entering(
        self, role: Role, muted: bool, held: bool, now: datetime
    ) -> tuple[Conferencecall, list[MuteChannel]]:
        """Past the PIN (or no PIN): its role, and muted on entry when the rules say so (a
        caller muted through the API meanwhile stays muted, not held)."""
        if self.muted:
            muted, held = True, False
        call = self._control("enter", now, role=role, pin_entry=False, muted=muted, held=held)
        effects = [MuteChannel(self.reference_id, "in", True)] if muted and not self.muted else []
        return call, effects

    def set_member(self, member: MemberOptions, now: datetime) -> Conferencecall:
        """Per-member options, only before the member is in the room (joining, still
        entering its PIN or not yet bridged): 409 afterwards."""
        if self.status is not S.JOINING or self.tm_join is not None:
            raise InvalidTransition("conferencecall", self.status.value, "set options",
                                    "only before it joins")  # fmt: skip
        return self.model_copy(update={"member_options": member, "tm_update": ensure_utc(now)})

    def set_talking(self, talking: bool, now: datetime) -> Conferencecall:
        """Talk detection (floor_events); bookkeeping only, no effects."""
        if talking == self.talking:
            return self
        return self.model_copy(update={"talking": talking, "tm_update": ensure_utc(now)})

    def check_playable(self) -> None:
        """Media is played only to a caller in the room (409 otherwise)."""
        if self.status is not S.JOINED:
            raise InvalidTransition("conferencecall", self.status.value, "play", "not joined")

    # --- JSON ------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "conference_id": self.conference_id,
            "reference_type": self.reference_type.value,
            "reference_id": self.reference_id,
            "status": self.status.value,
            "caller": {"number": self.caller.number, "name": self.caller.name},
            "role": self.role.value,
            "muted": self.muted,
            "deaf": self.deaf,
            "talking": self.talking,
            "waiting_for": "pin" if self.pin_entry else "moderator" if self.held else None,
            # The member's own muted option is its `muted` while joining (set_muted).
            **self.member_options.model_dump(exclude={"muted"}),
            "tm_create": to_iso(self.tm_create),
            "tm_update": to_iso(self.tm_update),
            "tm_delete": to_iso(self.tm_delete),
        }


# --- construction ----------------------------------------------------------------------


def _short_str(field: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(field, "must be a string")
    if len(value) > limit:
        raise ValidationFailed(field, f"must be at most {limit} characters")
    return value


def create(
    *,
    conference_id: str,
    customer_id: str,
    reference_id: str,
    now: datetime,
    caller_number: str = "",
    caller_name: str = "",
    id: str | None = None,
    pin_entry: bool = False,
) -> Conferencecall:
    """A new participant in `joining`. Pass `id` to choose it (e.g. the channel id, as the
    architecture suggests); otherwise a uuid4 is made. Admission (capacity, conference
    status) is Conference.add_call's decision, not this function's."""
    for field, value in (
        ("conference_id", conference_id),
        ("customer_id", customer_id),
        ("reference_id", reference_id),
    ):
        if not isinstance(value, str) or not value:
            raise ValidationFailed(field, "must be a non-empty string")
    caller = Caller(
        number=_short_str("caller.number", caller_number, CALLER_NUMBER_MAX),
        name=_short_str("caller.name", caller_name, CALLER_NAME_MAX),
    )
    return Conferencecall(
        id=id or new_id(),
        customer_id=customer_id,
        conference_id=conference_id,
        reference_id=reference_id,
        caller=caller,
        pin_entry=pin_entry,
        tm_create=ensure_utc(now),
    )


# --- health checks ---------------------------------------------------------------------


def check_health(
    call: Conferencecall,
    *,
    channel_alive: bool,
    conference_progressing: bool,
    now: datetime,
) -> bool:
    """The seed's three questions for one periodic check: is the call still up, is the
    conference still progressing, is the participant younger than 24 hours?"""
    young = ensure_utc(now) - call.tm_create < MAX_CALL_AGE
    return channel_alive and conference_progressing and young


def record_health(call: Conferencecall, ok: bool) -> tuple[Conferencecall, bool]:
    """Fold one health-check result in. Returns (call, should_remove): remove after
    HEALTH_MAX_FAILURES consecutive failures; a success resets the count. tm_update is not
    touched: bookkeeping is not an API-visible change."""
    if ok:
        if call.health_failures == 0:
            return call, False
        return call.model_copy(update={"health_failures": 0}), False
    failures = call.health_failures + 1
    return (
        call.model_copy(update={"health_failures": failures}),
        failures >= HEALTH_MAX_FAILURES,
    )
