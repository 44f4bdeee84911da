"""A conference's transcription fields (issue 13): the active transcribe_id and the
history in transcribe_ids, under the seed's rules (one at a time, only while
progressing). Kept beside conference.py (which stays one concept: the room's lifecycle);
the engine (engine/transcribe.py) calls these."""

from __future__ import annotations

from datetime import datetime

from confsvc.domain.conference import Conference, ConferenceStatus
from confsvc.domain.errors import InvalidTransition
from confsvc.domain.ids import ensure_utc


def _refuse(conf: Conference, action: str, detail: str = "") -> InvalidTransition:
    return InvalidTransition("conference", conf.status.value, action, detail)


def started(conf: Conference, transcribe_id: str, now: datetime) -> Conference:
    """Only while progressing, one at a time (409 otherwise)."""
    if conf.status is not ConferenceStatus.PROGRESSING:
        raise _refuse(conf, "start transcribing")
    if conf.transcribe_id is not None:
        raise _refuse(conf, "start transcribing", "a transcription is already active")
    return conf.model_copy(
        update={
            "transcribe_id": transcribe_id,
            "transcribe_ids": (*conf.transcribe_ids, transcribe_id),
            "tm_update": ensure_utc(now),
        }
    )


def stopped(conf: Conference, transcribe_id: str, now: datetime) -> Conference:
    """Clears transcribe_id (history stays). Any state; a stale id is a no-op."""
    if conf.transcribe_id != transcribe_id:
        return conf
    return conf.model_copy(update={"transcribe_id": None, "tm_update": ensure_utc(now)})


def active(conf: Conference) -> str:
    """The active transcribe's id; 409 when none is active."""
    if conf.transcribe_id is None:
        raise _refuse(conf, "stop transcribing", "no transcription is active")
    return conf.transcribe_id


def wants_auto(conf: Conference) -> bool:
    """`transcribe: true` and never transcribed yet: the first joined caller starts it (a
    transcription stopped through the API is not restarted by later callers)."""
    return (
        conf.transcribe
        and conf.status is ConferenceStatus.PROGRESSING
        and conf.transcribe_id is None
        and not conf.transcribe_ids
    )
