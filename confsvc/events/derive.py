"""Which events a state change makes: a pure function of the stored version before and the
version being saved. The store calls it (through the journal) inside the transaction that
writes the change, so an event exists exactly when its change does.

    conference      none -> conference_created; -> terminated: conference_deleted;
                    any other visible change: conference_updated
    conferencecall  status change: conferencecall_<status> (joining, joined, leaving,
                    leaved); muted flip: _muted/_unmuted; talking flip:
                    _talking_started/_stopped; another visible change (deaf, role...):
                    conferencecall_updated
    recording       none -> recording (or a save into recording): recording_started;
                    recording -> finished|failed: recording_finished

"Visible" is what the API shows: the resource's JSON, without tm_update (a save that only
touches internal bookkeeping, like the health-check counter, makes no event)."""

from __future__ import annotations

from typing import Any

from confsvc.domain import Conference, Conferencecall, ConferenceStatus, Recording, RecordingStatus

CONFERENCE_TYPES = (
    "conference_created",
    "conference_updated",
    "conference_deleted",
    # Not a state change: published through the Bus (events/bus.py) (a wait sound URL
    # that fails to play; reported once, engine/moderation.py).
    "conference_wait_sound_failed",
)
CONFERENCECALL_TYPES = (
    "conferencecall_joining",
    "conferencecall_joined",
    "conferencecall_leaving",
    "conferencecall_leaved",
    "conferencecall_muted",
    "conferencecall_unmuted",
    "conferencecall_talking_started",
    "conferencecall_talking_stopped",
    "conferencecall_updated",
    # Not a state change: published through the Bus (events/bus.py) (DTMF).
    "conferencecall_digits",
    # Bus too: a pre/post action skipped (engine/actions.py: unreachable media...).
    "conferencecall_action_failed",
)
RECORDING_TYPES = ("recording_started", "recording_finished")
# Transcription (issue 13), published through the Bus (engine/transcribe.py): not state
# changes of a journalled resource. recording_transcribed: Plivo transcriptionType auto.
TRANSCRIBE_TYPES = (
    "transcribe_started",
    "transcribe_finished",
    "transcript_created",
    "transcript_dropped",
    "recording_transcribed",
)
# A dial-out call ended (engine/dialout.py stores it with the call's final state).
CALL_TYPES = ("call_ended",)
# A Hoiio Record block on a conferencecall ended (engine/record_block.py; data = the
# seed's notification parameters).
RECORD_BLOCK_TYPES = ("record_block_finished",)
EVENT_TYPES: tuple[str, ...] = (
    CONFERENCE_TYPES
    + CONFERENCECALL_TYPES
    + RECORDING_TYPES
    + CALL_TYPES
    + TRANSCRIBE_TYPES
    + RECORD_BLOCK_TYPES
)

Resource = Conference | Conferencecall | Recording


def derive(old: Resource | None, new: Resource) -> list[str]:
    """The event types, in order, for saving `new` over `old` (None: not stored before)."""
    if old is not None and type(old) is not type(new):
        raise TypeError(f"cannot compare {type(old).__name__} with {type(new).__name__}")
    if isinstance(new, Conference):
        return _conference(old, new)  # type: ignore[arg-type]
    if isinstance(new, Conferencecall):
        return _call(old, new)  # type: ignore[arg-type]
    if isinstance(new, Recording):
        return _recording(old, new)  # type: ignore[arg-type]
    raise TypeError(f"no events for {type(new).__name__}")


def visible(resource: Resource) -> dict[str, Any]:
    """The resource as the API shows it, minus tm_update."""
    if isinstance(resource, Conference):
        out = resource.to_json("")
    elif isinstance(resource, Recording):
        out = resource.to_json("")
    else:
        out = resource.to_json()
    out.pop("tm_update", None)
    return out


def _conference(old: Conference | None, new: Conference) -> list[str]:
    terminated = ConferenceStatus.TERMINATED
    if old is None:
        out = ["conference_created"]
        if new.status is terminated:
            out.append("conference_deleted")
        return out
    if new.status is terminated and old.status is not terminated:
        return ["conference_deleted"]
    return ["conference_updated"] if visible(old) != visible(new) else []


def _call(old: Conferencecall | None, new: Conferencecall) -> list[str]:
    if old is None:
        out = [f"conferencecall_{new.status.value}"]
        if getattr(new, "muted", False):
            out.append("conferencecall_muted")
        if getattr(new, "talking", False):
            out.append("conferencecall_talking_started")
        return out
    out = []
    if old.status is not new.status:
        out.append(f"conferencecall_{new.status.value}")
    muted_old, muted_new = getattr(old, "muted", False), getattr(new, "muted", False)
    if muted_old != muted_new:
        out.append("conferencecall_muted" if muted_new else "conferencecall_unmuted")
    talking_old, talking_new = getattr(old, "talking", False), getattr(new, "talking", False)
    if talking_old != talking_new:
        out.append(
            "conferencecall_talking_started" if talking_new else "conferencecall_talking_stopped"
        )
    if not out:
        a, b = visible(old), visible(new)
        for key in ("status", "muted", "talking"):
            a.pop(key, None)
            b.pop(key, None)
        if a != b:
            out.append("conferencecall_updated")
    return out


def _recording(old: Recording | None, new: Recording) -> list[str]:
    active = RecordingStatus.RECORDING
    if old is None:
        out = ["recording_started"]
        if new.status is not active:  # stored already final (never happens in the engine)
            out.append("recording_finished")
        return out
    if old.status is active and new.status is not active:
        return ["recording_finished"]
    if old.status is not active and new.status is active:  # pragma: no cover - not a path
        return ["recording_started"]
    return []
