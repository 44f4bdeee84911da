"""What a conference transition asks the engine to do: plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class KickCall:
    """Run the kick path for this participant (Conferencecall.leaving + eject). The engine
    skips calls already leaving/leaved: the conference only knows ids, not their status."""

    conferencecall_id: str


@dataclass(frozen=True, slots=True)
class StopRecording:
    conference_id: str
    recording_id: str


@dataclass(frozen=True, slots=True)
class StopTranscribe:
    conference_id: str
    transcribe_id: str


@dataclass(frozen=True, slots=True)
class ArmTimeout:
    """(Re)arm the auto-terminate timer; deadline None cancels it."""

    conference_id: str
    deadline: datetime | None


@dataclass(frozen=True, slots=True)
class DestroyBridge:
    conference_id: str


ConferenceEffect = KickCall | StopRecording | StopTranscribe | ArmTimeout | DestroyBridge
