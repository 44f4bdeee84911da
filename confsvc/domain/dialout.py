"""A dial-out call (seed 000, Hoiio conference/call): one destination of a request, from
queued to ended, and how it ended. Pure: no I/O.

    queued -> dialing -> ringing -> answered -> ended      (forward only; steps may be
    queued -> ended     (never dialled)                     skipped, ended is terminal)

`txn_ref` is the call's id and also its ARI channel id (chosen before the originate, so
events racing the reply find it). The result (`call_status_dest`) is decided when the
channel is gone, from what was seen (ARI):

    answered     the channel reached Up (StasisStart follows)
    busy         hangup cause 17 (user busy, SIP 486)
    unanswered   no answer: cause 18/19 (no user responding / no answer, our ring timeout
                 makes 19), the ring timeout passed, or we gave up ringing ourselves
    failed       anything else (1 unallocated, 21 rejected, 34 congestion, 38 network
                 out of order...), and calls never dialled (conference gone, ARI refused)

Billing is by the minute as the seed bills: `duration` = whole minutes from answer to
hangup, rounded up (0 when not answered); `duration_ms` is exact."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from confsvc.domain.ids import ensure_utc, new_id, to_iso
from confsvc.domain.member_options import MemberOptions

CAUSE_NORMAL = 16
CAUSE_BUSY = 17
CAUSE_NO_RESPONSE = 18
CAUSE_NO_ANSWER = 19
UNANSWERED_CAUSES = frozenset({CAUSE_NO_RESPONSE, CAUSE_NO_ANSWER})
# The seed's `date`: "Date/time (GMT+8) ... in YYYY-MM-DD HH:mm:SS format".
SEED_TZ = timezone(timedelta(hours=8))


class CallStatus(StrEnum):
    QUEUED = "queued"
    DIALING = "dialing"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class CallResult(StrEnum):
    ANSWERED = "answered"
    UNANSWERED = "unanswered"
    FAILED = "failed"
    BUSY = "busy"


S = CallStatus
_ORDER = {s: i for i, s in enumerate(CallStatus)}
OPEN_STATUSES = frozenset({S.QUEUED, S.DIALING, S.RINGING, S.ANSWERED})


def call_result(
    *, answered: bool, cause: int | None, timed_out: bool = False, cancelled: bool = False
) -> CallResult:
    """How a call ended, from what ARI told us (see the module docstring)."""
    if answered:
        return CallResult.ANSWERED
    if cause == CAUSE_BUSY:
        return CallResult.BUSY
    if cause in UNANSWERED_CAUSES or timed_out or cancelled:
        return CallResult.UNANSWERED
    return CallResult.FAILED


def billed_minutes(duration_ms: int) -> int:
    """Whole minutes, rounded up (a call of 61 s is 2 minutes); 0 for 0."""
    return math.ceil(max(duration_ms, 0) / 60000)


def seed_date(when: datetime) -> str:
    return ensure_utc(when).astimezone(SEED_TZ).strftime("%Y-%m-%d %H:%M:%S")


class DialoutCall(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str  # the txn_ref, also the ARI channel id
    request_id: str  # the POST that placed it (its calls share it)
    position: int  # index in the request's destinations
    customer_id: str
    conference_id: str
    room: str
    room_created: bool = False  # this request created the room (it ends when unused)
    dest: str
    caller_id: str = ""
    tag: str | None = None
    notify_url: str | None = None
    timeout: int
    status: CallStatus = S.QUEUED
    result: CallResult | None = None
    hangup_cause: int | None = None
    hangup_cause_txt: str = ""
    conferencecall_id: str | None = None
    # Plivo's per-member options the callee's conferencecall starts with (null: defaults).
    member_options: MemberOptions = MemberOptions()
    tm_create: AwareDatetime
    tm_dial: AwareDatetime | None = None
    tm_answer: AwareDatetime | None = None
    tm_end: AwareDatetime | None = None
    tm_update: AwareDatetime | None = None

    @property
    def txn_ref(self) -> str:
        return self.id

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def duration_ms(self) -> int:
        if self.tm_answer is None or self.tm_end is None:
            return 0
        return max(0, int((self.tm_end - self.tm_answer).total_seconds() * 1000))

    def _to(self, status: CallStatus, now: datetime, **changes: Any) -> DialoutCall:
        """Forward only; a step back (a late event) leaves the call as it is."""
        if _ORDER[status] <= _ORDER[self.status]:
            return self
        return self.model_copy(update={"status": status, "tm_update": ensure_utc(now), **changes})

    def dialing(self, now: datetime) -> DialoutCall:
        return self._to(S.DIALING, now, tm_dial=ensure_utc(now))

    def ringing(self, now: datetime) -> DialoutCall:
        return self._to(S.RINGING, now)

    def answered(self, now: datetime) -> DialoutCall:
        return self._to(S.ANSWERED, now, tm_answer=ensure_utc(now))

    def joined(self, conferencecall_id: str, now: datetime) -> DialoutCall:
        return self.model_copy(
            update={"conferencecall_id": conferencecall_id, "tm_update": ensure_utc(now)}
        )

    def rang_out(self, now: datetime) -> bool:
        """The ring timeout has passed since the originate (with a little slack)."""
        if self.tm_dial is None:
            return False
        return ensure_utc(now) - self.tm_dial >= timedelta(seconds=self.timeout - 0.5)

    def ended(
        self,
        now: datetime,
        *,
        cause: int | None = None,
        cause_txt: str = "",
        cancelled: bool = False,
    ) -> DialoutCall:
        """-> ended with its result; an ended call stays as it was."""
        if self.status is S.ENDED:
            return self
        answered = self.tm_answer is not None
        result = call_result(
            answered=answered,
            cause=cause,
            timed_out=not answered and self.rang_out(now),
            cancelled=cancelled and self.status is not S.QUEUED,
        )
        return self.model_copy(
            update={
                "status": S.ENDED,
                "result": result,
                "hangup_cause": cause,
                "hangup_cause_txt": cause_txt,
                "tm_end": ensure_utc(now),
                "tm_update": ensure_utc(now),
            }
        )

    # --- JSON ------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        ended = self.status is S.ENDED
        return {
            "id": self.id,
            "txn_ref": self.id,
            "request_id": self.request_id,
            "customer_id": self.customer_id,
            "conference_id": self.conference_id,
            "room": self.room,
            "dest": self.dest,
            "caller_id": self.caller_id,
            "tag": self.tag,
            "notify_url": self.notify_url,
            "timeout": self.timeout,
            "status": self.status.value,
            "call_status_dest": self.result.value if self.result else None,
            "hangup_cause": self.hangup_cause,
            "hangup_cause_txt": self.hangup_cause_txt,
            "conferencecall_id": self.conferencecall_id,
            "member_options": self.member_options.to_json(),
            "duration": billed_minutes(self.duration_ms) if ended else None,
            "duration_ms": self.duration_ms if ended else None,
            "tm_create": to_iso(self.tm_create),
            "tm_dial": to_iso(self.tm_dial),
            "tm_answer": to_iso(self.tm_answer),
            "tm_end": to_iso(self.tm_end),
            "tm_update": to_iso(self.tm_update),
        }

    def notify_params(self) -> dict[str, str]:
        """The seed's notification parameters (sent form-encoded to notify_url when the
        call has ended), plus duration_ms and room. No currency/rate/debit: no billing."""
        params = {
            "dest": self.dest,
            "call_status_dest": self.result.value if self.result else CallResult.FAILED.value,
            "call_state": "ended",
            "txn_ref": self.id,
            "date": seed_date(self.tm_create),
            "duration": str(billed_minutes(self.duration_ms)),
            "duration_ms": str(self.duration_ms),
            "room": self.room,
        }
        if self.tag is not None:
            params["tag"] = self.tag
        return params


def create_calls(
    *,
    customer_id: str,
    conference_id: str,
    room: str,
    destinations: tuple[str, ...],
    now: datetime,
    caller_id: str = "",
    tag: str | None = None,
    notify_url: str | None = None,
    timeout: int,
    room_created: bool = False,
    member_options: MemberOptions | None = None,
) -> list[DialoutCall]:
    """One queued call per destination, in order. Each tm_create is 1 µs after the one
    before, so listings (newest first) keep the request's order."""
    request_id = new_id()
    base = ensure_utc(now)
    return [
        DialoutCall(
            id=new_id(),
            request_id=request_id,
            position=i,
            customer_id=customer_id,
            conference_id=conference_id,
            room=room,
            room_created=room_created,
            dest=dest,
            caller_id=caller_id,
            tag=tag,
            notify_url=notify_url,
            timeout=timeout,
            member_options=member_options or MemberOptions(),
            tm_create=base + timedelta(microseconds=i),
        )
        for i, dest in enumerate(destinations)
    ]
