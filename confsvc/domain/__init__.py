"""Pure domain: conference and participant state machines, rules, errors. No I/O.

Every transition is a method on an immutable model returning `(new_state, effects)`;
the engine persists the new state and turns the effects into ARI commands and timers."""

from confsvc.domain.conference import (
    ArmTimeout,
    Conference,
    ConferenceEffect,
    ConferenceStatus,
    ConferenceType,
    DestroyBridge,
    KickCall,
    StopRecording,
    is_expired,
    timeout_deadline,
)
from confsvc.domain.conference_create import create as create_conference
from confsvc.domain.conferencecall import (
    Caller,
    Conferencecall,
    ConferencecallEffect,
    ConferencecallStatus,
    EjectChannel,
    ReferenceType,
    check_health,
    record_health,
)
from confsvc.domain.conferencecall import create as create_conferencecall
from confsvc.domain.errors import (
    ConferenceFull,
    DomainError,
    InvalidTransition,
    RoomTaken,
    ValidationFailed,
)
from confsvc.domain.ids import new_id, now
from confsvc.domain.recording import Recording, RecordingFormat, RecordingStatus
from confsvc.domain.recording import create as create_recording
from confsvc.domain.room import generate_room, is_valid_room, validate_room

Effect = ConferenceEffect | ConferencecallEffect

__all__ = [
    "ArmTimeout",
    "Caller",
    "Conference",
    "ConferenceEffect",
    "ConferenceFull",
    "ConferenceStatus",
    "ConferenceType",
    "Conferencecall",
    "ConferencecallEffect",
    "ConferencecallStatus",
    "DestroyBridge",
    "DomainError",
    "Effect",
    "EjectChannel",
    "InvalidTransition",
    "KickCall",
    "Recording",
    "RecordingFormat",
    "RecordingStatus",
    "ReferenceType",
    "RoomTaken",
    "StopRecording",
    "ValidationFailed",
    "check_health",
    "create_conference",
    "create_conferencecall",
    "create_recording",
    "generate_room",
    "is_expired",
    "is_valid_room",
    "new_id",
    "now",
    "record_health",
    "timeout_deadline",
    "validate_room",
]
