"""Conference: the room, its lifecycle and its admission rules.

    starting -> progressing -> terminating -> terminated      (forward only)
    starting -> terminating                  (DELETE before the bridge came up)
    starting|progressing -> terminated       only via terminate_now(): no live callers, so
                                             there is nobody to wait for
(The seed's diagram draws a terminating -> progressing arrow, but its text says states only
move forward; we follow the text: terminating never goes back.)

Style (shared with conferencecall.py): the model is immutable; every transition is a method
returning `(new_conference, effects)`; effects are plain data the engine turns into ARI
commands, timers and further transitions. `now` is always passed in.

Types:
  conference  multi-party; stays up with 0 or 1 caller; ends on DELETE or timeout.
  connect     1:1 (max 2 callers); when one leaves the other is kicked and the conference
              terminates (also when the only caller leaves before a second arrived).

`conferencecall_ids` holds the live callers in admission order. A call is admitted (added)
when it starts joining, not when its audio is connected, so capacity cannot be overrun by
callers racing through `joining`; it is removed when it reaches `leaved`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

# Re-exported: callers know these as conference.<NAME>.
from confsvc.domain.actions import Action, validate_actions
from confsvc.domain.conference_effects import ArmTimeout as ArmTimeout
from confsvc.domain.conference_effects import ConferenceEffect as ConferenceEffect
from confsvc.domain.conference_effects import DestroyBridge as DestroyBridge
from confsvc.domain.conference_effects import KickCall as KickCall
from confsvc.domain.conference_effects import StopRecording as StopRecording
from confsvc.domain.conference_effects import StopTranscribe as StopTranscribe
from confsvc.domain.conference_rules import DATA_MAX_BYTES as DATA_MAX_BYTES
from confsvc.domain.conference_rules import DETAIL_MAX as DETAIL_MAX
from confsvc.domain.conference_rules import (
    MAX_PARTICIPANTS_LIMIT,
    validate_data,
    validate_detail,
    validate_name,
    validate_timeout,
)
from confsvc.domain.conference_rules import NAME_MAX as NAME_MAX
from confsvc.domain.conference_rules import TIMEOUT_MAX as TIMEOUT_MAX
from confsvc.domain.conference_rules import ConferenceType as ConferenceType
from confsvc.domain.conference_rules import participant_limit as participant_limit
from confsvc.domain.errors import ConferenceFull, InvalidTransition
from confsvc.domain.hooks import DEFAULT_METHOD, hook_changes
from confsvc.domain.ids import ensure_utc, to_iso
from confsvc.domain.options import ConferenceOptions
from confsvc.domain.recording import RecordingFormat


class ConferenceStatus(StrEnum):
    STARTING = "starting"
    PROGRESSING = "progressing"
    TERMINATING = "terminating"
    TERMINATED = "terminated"


S = ConferenceStatus
TRANSITIONS: dict[ConferenceStatus, frozenset[ConferenceStatus]] = {
    S.STARTING: frozenset({S.PROGRESSING, S.TERMINATING, S.TERMINATED}),
    S.PROGRESSING: frozenset({S.TERMINATING, S.TERMINATED}),
    S.TERMINATING: frozenset({S.TERMINATED}),
    S.TERMINATED: frozenset(),
}
LIVE_STATUSES = frozenset({S.STARTING, S.PROGRESSING, S.TERMINATING})
_OPEN = frozenset({S.STARTING, S.PROGRESSING})  # not yet closing: may start terminating


def can_transition(src: ConferenceStatus, dst: ConferenceStatus) -> bool:
    return dst in TRANSITIONS[src]


# --- model -----------------------------------------------------------------------------


class Conference(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    customer_id: str
    type: ConferenceType = ConferenceType.CONFERENCE
    status: ConferenceStatus = S.STARTING
    name: str = ""
    detail: str = ""
    room: str
    timeout: int = 0
    max_participants: int = MAX_PARTICIPANTS_LIMIT
    data: dict[str, Any] = {}
    # Record from the first join on (seed: record / recordFileFormat); immutable.
    record: bool = False
    record_format: RecordingFormat = RecordingFormat.WAV
    # Where its events go (confsvc/domain/hooks.py): our event JSON / Plivo-style callbacks.
    notify_url: str | None = None
    notify_method: str = DEFAULT_METHOD
    callback_url: str | None = None
    callback_method: str = DEFAULT_METHOD
    conferencecall_ids: tuple[str, ...] = ()
    recording_id: str | None = None
    recording_ids: tuple[str, ...] = ()
    # Member controls (seed 003; domain/options.py), immutable; and the floor holder.
    options: ConferenceOptions = ConferenceOptions()
    floor_conferencecall_id: str | None = None
    # Live transcription (issue 13): from the first join on when `transcribe` (immutable);
    # the active one and the history. Plivo: transcribe the recordings (transcription_*).
    transcribe: bool = False
    transcribe_language: str | None = None
    transcribe_id: str | None = None
    transcribe_ids: tuple[str, ...] = ()
    transcription_type: str | None = None
    transcription_url: str | None = None
    # What each caller hears on its way in / out (domain/actions.py, engine/actions.py).
    pre_actions: tuple[Action, ...] = ()
    post_actions: tuple[Action, ...] = ()
    tm_create: AwareDatetime
    tm_update: AwareDatetime | None = None
    tm_delete: AwareDatetime | None = None

    @property
    def is_live(self) -> bool:
        """Not terminated: holds its room, may still have callers."""
        return self.status in LIVE_STATUSES

    @property
    def capacity(self) -> int:
        # min(): even a corrupted row cannot lift the connect ceiling of 2. A conference's
        # own max_participants was checked against the deployment's ceiling at creation.
        return min(self.max_participants, participant_limit(self.type, self.max_participants))

    # --- helpers ---------------------------------------------------------------------

    def _refuse(self, action: str, detail: str = "") -> InvalidTransition:
        return InvalidTransition("conference", self.status.value, action, detail)

    def _with(self, now: datetime, **changes: Any) -> Conference:
        return self.model_copy(update={**changes, "tm_update": ensure_utc(now)})

    def _stop_recording(self) -> list[ConferenceEffect]:
        out: list[ConferenceEffect] = []
        if self.transcribe_id is not None:
            out.append(StopTranscribe(self.id, self.transcribe_id))
        if self.recording_id is not None:
            out.append(StopRecording(self.id, self.recording_id))
        return out

    # --- lifecycle -------------------------------------------------------------------

    def start(self, now: datetime) -> tuple[Conference, list[ConferenceEffect]]:
        """The bridge is up: starting -> progressing. Arms the timeout when one is set."""
        if self.status is not S.STARTING:
            raise self._refuse("start")
        conf = self._with(now, status=S.PROGRESSING)
        effects: list[ConferenceEffect] = []
        deadline = timeout_deadline(conf)
        if deadline is not None:
            effects.append(ArmTimeout(conf.id, deadline))
        return conf, effects

    def begin_terminate(self, now: datetime) -> tuple[Conference, list[ConferenceEffect]]:
        """DELETE or timeout with callers inside: -> terminating; stop any recording, kick
        every live caller, and wait for their leave events (then finish_terminate)."""
        if self.status not in _OPEN:
            raise self._refuse("terminate")
        effects: list[ConferenceEffect] = [ArmTimeout(self.id, None)]
        effects += self._stop_recording()
        effects += [KickCall(cid) for cid in self.conferencecall_ids]
        return self._with(now, status=S.TERMINATING), effects

    def finish_terminate(self, now: datetime) -> tuple[Conference, list[ConferenceEffect]]:
        """terminating -> terminated once the last caller left. Sets tm_delete, frees room."""
        if self.status is not S.TERMINATING:
            raise self._refuse("finish terminating")
        if self.conferencecall_ids:
            raise self._refuse("finish terminating", "participants still inside")
        conf = self._with(now, status=S.TERMINATED, tm_delete=ensure_utc(now))
        return conf, [DestroyBridge(self.id)]

    def terminate_now(self, now: datetime) -> tuple[Conference, list[ConferenceEffect]]:
        """starting|progressing -> terminated in one step, only when nobody is inside."""
        if self.status not in _OPEN:
            raise self._refuse("terminate")
        if self.conferencecall_ids:
            raise self._refuse("terminate now", "participants still inside")
        effects: list[ConferenceEffect] = [ArmTimeout(self.id, None)]
        effects += self._stop_recording()
        effects.append(DestroyBridge(self.id))
        conf = self._with(now, status=S.TERMINATED, tm_delete=ensure_utc(now))
        return conf, effects

    def terminate(self, now: datetime) -> tuple[Conference, list[ConferenceEffect]]:
        """The entry point for DELETE and timeout: empty -> terminate_now, else
        begin_terminate. Refused (409) when already terminating/terminated."""
        if self.status in _OPEN and not self.conferencecall_ids:
            return self.terminate_now(now)
        return self.begin_terminate(now)

    # --- participants ----------------------------------------------------------------

    def add_call(self, call_id: str, now: datetime) -> tuple[Conference, list[ConferenceEffect]]:
        """Admit a caller (it starts joining). Only while progressing; refused when full.
        Re-adding an id already inside is a no-op (replayed events after a reconnect)."""
        if self.status is not S.PROGRESSING:
            raise self._refuse("add a participant")
        if call_id in self.conferencecall_ids:
            return self, []
        if len(self.conferencecall_ids) >= self.capacity:
            raise ConferenceFull(self.id, self.capacity)
        return self._with(now, conferencecall_ids=(*self.conferencecall_ids, call_id)), []

    def remove_call(self, call_id: str, now: datetime) -> tuple[Conference, list[ConferenceEffect]]:
        """A caller reached `leaved`. Unknown ids are a no-op (idempotent). Consequences:
        - connect type, still starting/progressing: kick the other one and terminate;
        - terminating and now empty: terminated."""
        if call_id not in self.conferencecall_ids:
            return self, []
        remaining = tuple(c for c in self.conferencecall_ids if c != call_id)
        conf = self._with(now, conferencecall_ids=remaining)
        if conf.type is ConferenceType.CONNECT and conf.status in _OPEN:
            return conf.terminate(now)
        if conf.status is S.TERMINATING and not remaining:
            return conf.finish_terminate(now)
        return conf, []

    # --- recordings (the recording domain drives these; kept here as they are fields) --

    def recording_started(
        self, recording_id: str, now: datetime
    ) -> tuple[Conference, list[ConferenceEffect]]:
        """Only while progressing, one at a time (seed rules)."""
        if self.status is not S.PROGRESSING:
            raise self._refuse("start recording")
        if self.recording_id is not None:
            raise self._refuse("start recording", "a recording is already active")
        ids = (*self.recording_ids, recording_id)
        return self._with(now, recording_id=recording_id, recording_ids=ids), []

    def recording_stopped(
        self, recording_id: str, now: datetime
    ) -> tuple[Conference, list[ConferenceEffect]]:
        """Clears recording_id (history stays in recording_ids). Allowed in any state: the
        RecordingFinished event may arrive after termination. Stale ids are a no-op."""
        if self.recording_id != recording_id:
            return self, []
        return self._with(now, recording_id=None), []

    def take_floor(self, conferencecall_id: str, now: datetime) -> Conference:
        """A caller started talking: it holds the floor (only while progressing)."""
        if self.status is not S.PROGRESSING or self.floor_conferencecall_id == conferencecall_id:
            return self
        return self._with(now, floor_conferencecall_id=conferencecall_id)

    def release_floor(self, conferencecall_id: str, now: datetime) -> Conference:
        """The holder left: nobody holds the floor. Anyone else leaving changes nothing."""
        if self.floor_conferencecall_id != conferencecall_id:
            return self
        return self._with(now, floor_conferencecall_id=None)

    def check_recording_active(self) -> str:
        """The active recording's id; refused (409) when none is active."""
        if self.recording_id is None:
            raise self._refuse("stop recording", "no recording is active")
        return self.recording_id

    @property
    def wants_auto_record(self) -> bool:
        """`record: true` and never recorded yet: the first joined caller starts it (a
        recording stopped through the API is not restarted by later joins)."""
        return (
            self.record
            and self.status is S.PROGRESSING
            and self.recording_id is None
            and not self.recording_ids
        )

    # --- updates ---------------------------------------------------------------------

    def update(
        self,
        now: datetime,
        *,
        name: str | None = None,
        detail: str | None = None,
        timeout: int | None = None,
        data: dict[str, Any] | None = None,
        pre_actions: list[Any] | None = None,
        post_actions: list[Any] | None = None,
        **hooks: str | None,
    ) -> tuple[Conference, list[ConferenceEffect]]:
        """Change name/detail/timeout/data/pre_actions/post_actions (None = leave as is)
        while not terminated. type, room and max_participants are immutable. A new timeout
        counts from tm_create, so a value already in the past ends the conference at once
        (via the re-armed timer)."""
        if self.status is S.TERMINATED:
            raise self._refuse("update")
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = validate_name(name)
        if detail is not None:
            changes["detail"] = validate_detail(detail)
        if data is not None:
            changes["data"] = validate_data(data)
        if timeout is not None:
            changes["timeout"] = validate_timeout(timeout)
        if pre_actions is not None:  # replaced as a whole
            changes["pre_actions"] = validate_actions(pre_actions, "pre_actions")
        if post_actions is not None:
            changes["post_actions"] = validate_actions(post_actions, "post_actions")
        changes.update(hook_changes(**hooks))  # notify_/callback_ url and method
        conf = self._with(now, **changes)
        effects: list[ConferenceEffect] = []
        if timeout is not None and conf.timeout != self.timeout and conf.status in _OPEN:
            effects.append(ArmTimeout(conf.id, timeout_deadline(conf)))
        return conf, effects

    # --- JSON ------------------------------------------------------------------------

    def dial_uri(self, dial_host: str) -> str:
        return f"sip:{self.room}@{dial_host}"

    def to_json(self, dial_host: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "type": self.type.value,
            "status": self.status.value,
            "name": self.name,
            "detail": self.detail,
            "room": self.room,
            "dial_uri": self.dial_uri(dial_host),
            "timeout": self.timeout,
            "max_participants": self.max_participants,
            "data": json.loads(json.dumps(self.data)),  # a copy callers may mutate
            "record": self.record,
            "record_format": self.record_format.value,
            "notify_url": self.notify_url,
            "notify_method": self.notify_method,
            "callback_url": self.callback_url,
            "callback_method": self.callback_method,
            "conferencecall_ids": list(self.conferencecall_ids),
            "recording_id": self.recording_id,
            "recording_ids": list(self.recording_ids),
            **self.options.to_json(),
            "floor_conferencecall_id": self.floor_conferencecall_id,
            "transcribe": self.transcribe,
            "transcribe_language": self.transcribe_language,
            "transcribe_id": self.transcribe_id,
            "transcribe_ids": list(self.transcribe_ids),
            "transcription_type": self.transcription_type,
            "transcription_url": self.transcription_url,
            "pre_actions": [a.to_json() for a in self.pre_actions],
            "post_actions": [a.to_json() for a in self.post_actions],
            "tm_create": to_iso(self.tm_create),
            "tm_update": to_iso(self.tm_update),
            "tm_delete": to_iso(self.tm_delete),
        }


# --- timeouts --------------------------------------------------------------------------


def timeout_deadline(conf: Conference) -> datetime | None:
    """When the timeout fires: tm_create + the shorter of VoIPBIN's timeout and Plivo's
    time_limit (both the conference's maximum duration from its start, which is its
    creation here). None when neither is set or the conference is already ending."""
    limits = [s for s in (conf.timeout, conf.options.time_limit) if s > 0]
    if not limits or conf.status not in _OPEN:
        return None
    return conf.tm_create + timedelta(seconds=min(limits))


def is_expired(conf: Conference, now: datetime) -> bool:
    deadline = timeout_deadline(conf)
    return deadline is not None and ensure_utc(now) >= deadline
