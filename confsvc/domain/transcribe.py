"""Transcribe: one live transcription of a conference, and its transcript segments.

    progressing -> done                       (forward only; done is final)

A transcribe belongs to one conference (seed: transcribe_start / transcribe_stop, one
active at a time, only while the conference is progressing, a language must be given,
history in transcribe_ids). While it is progressing every joined caller's own voice is
transcribed; each finished utterance is one Transcript: who spoke (conferencecall_id,
caller), when (start_ms / end_ms, epoch milliseconds UTC, as recordings), and the text.
Style as recording.py: immutable models, `now` passed in."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from confsvc.domain.errors import InvalidTransition, ValidationFailed
from confsvc.domain.ids import ensure_utc, new_id, to_iso

# BCP 47 as callers send it ("en-US", "en", "pt-BR"); the model speaks primary subtags.
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
TEXT_MAX = 10_000  # one utterance's text, cut beyond (a runaway model output)
TRANSCRIPTION_TYPES = ("auto",)  # Plivo's transcriptionType


class TranscribeStatus(StrEnum):
    PROGRESSING = "progressing"
    DONE = "done"


class Transcribe(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    customer_id: str
    conference_id: str
    status: TranscribeStatus = TranscribeStatus.PROGRESSING
    language: str
    tm_create: AwareDatetime
    tm_update: AwareDatetime | None = None
    tm_end: AwareDatetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status is TranscribeStatus.PROGRESSING

    def finish(self, now: datetime) -> Transcribe:
        """Stopped (API, conference ended): progressing -> done. Done again is a no-op."""
        if not self.is_active:
            return self
        now = ensure_utc(now)
        return self.model_copy(
            update={"status": TranscribeStatus.DONE, "tm_update": now, "tm_end": now}
        )

    def check_deletable(self) -> None:
        if self.is_active:
            raise InvalidTransition("transcribe", self.status.value, "delete", "stop it first")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "conference_id": self.conference_id,
            "status": self.status.value,
            "language": self.language,
            "tm_create": to_iso(self.tm_create),
            "tm_update": to_iso(self.tm_update),
            "tm_end": to_iso(self.tm_end),
        }


class Transcript(BaseModel):
    """One utterance of one caller (direction "in": what the caller said)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    customer_id: str
    transcribe_id: str
    conference_id: str
    conferencecall_id: str
    direction: str = "in"
    caller_number: str = ""
    caller_name: str = ""
    start_ms: int
    end_ms: int
    text: str
    tm_create: AwareDatetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "transcribe_id": self.transcribe_id,
            "conference_id": self.conference_id,
            "conferencecall_id": self.conferencecall_id,
            "direction": self.direction,
            "caller": {"number": self.caller_number, "name": self.caller_name},
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "text": self.text,
            "tm_create": to_iso(self.tm_create),
        }


def validate_language(value: object, field: str = "language") -> str:
    """A BCP 47 tag ("en-US"); required. Whether the model speaks it is the engine's check."""
    if not isinstance(value, str) or not _LANGUAGE.match(value):
        raise ValidationFailed(field, "must be a language tag such as en-US or en")
    return value


def primary_language(tag: str) -> str:
    """ "en-US" -> "en": what speech models call a language."""
    return tag.split("-", 1)[0].lower()


def validate_transcription_type(value: object) -> str | None:
    if value is None or value == "":
        return None
    if value not in TRANSCRIPTION_TYPES:
        raise ValidationFailed("transcription_type", "must be auto (or empty)")
    return str(value)


def create(
    *, customer_id: str, conference_id: str, language: str, now: datetime, id: str | None = None
) -> Transcribe:
    return Transcribe(
        id=id or new_id(),
        customer_id=customer_id,
        conference_id=conference_id,
        language=validate_language(language),
        tm_create=ensure_utc(now),
    )


def create_transcript(
    *,
    transcribe: Transcribe,
    conferencecall_id: str,
    caller_number: str,
    caller_name: str,
    start_ms: int,
    end_ms: int,
    text: str,
    now: datetime,
) -> Transcript:
    return Transcript(
        id=new_id(),
        customer_id=transcribe.customer_id,
        transcribe_id=transcribe.id,
        conference_id=transcribe.conference_id,
        conferencecall_id=conferencecall_id,
        caller_number=caller_number,
        caller_name=caller_name,
        start_ms=start_ms,
        end_ms=max(end_ms, start_ms),
        text=text.strip()[:TEXT_MAX],
        tm_create=ensure_utc(now),
    )
