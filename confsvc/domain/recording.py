"""Recording: one recording of a conference's mixed audio.

    recording -> finished | failed             (forward only; both are final)

Style as in conference.py: an immutable model, transitions return a new model, `now` is
passed in. Asterisk always records WAV; `format` is what we keep and serve (mp3 is encoded
by the controller when the recording is finalized). Times: tm_create/tm_update like every
entity; start_ms/end_ms are epoch milliseconds (UTC) of the audio, duration_ms is the
length of the stored audio, size_bytes the size of the stored file (0 until finished).
A failed recording says why in `reason` (one of FAILURE_REASONS; null otherwise)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from confsvc.domain.errors import InvalidTransition, ValidationFailed
from confsvc.domain.ids import ensure_utc, new_id, to_iso

MAX_DURATION_LIMIT = 86400  # 24 h: the seed's "Maximum duration: 24 hours"


class RecordingStatus(StrEnum):
    RECORDING = "recording"
    FINISHED = "finished"
    FAILED = "failed"


class RecordingFormat(StrEnum):
    WAV = "wav"
    MP3 = "mp3"


CONTENT_TYPES: dict[RecordingFormat, str] = {
    RecordingFormat.WAV: "audio/wav",
    RecordingFormat.MP3: "audio/mpeg",
}

S = RecordingStatus

# Why a recording failed (`reason`), stable codes:
ASTERISK_FAILED = "asterisk_failed"  # Asterisk reported it failed (RecordingFailed)
NO_FILE = "no_file"  # Asterisk ended it but stored no file (e.g. Asterisk restarted)
FILE_NOT_STORED = "file_not_stored"  # the audio could not be read or written here
NOT_STOPPED = "not_stopped"  # Asterisk kept recording after repeated stops: cancelled
ASTERISK_UNAVAILABLE = "asterisk_unavailable"  # Asterisk did not answer while it ended
START_FAILED = "start_failed"  # Asterisk refused to start it (the row is removed)
FAILURE_REASONS = (
    ASTERISK_FAILED,
    NO_FILE,
    FILE_NOT_STORED,
    NOT_STOPPED,
    ASTERISK_UNAVAILABLE,
    START_FAILED,
)


def epoch_ms(dt: datetime) -> int:
    return int(ensure_utc(dt).timestamp() * 1000)


class Recording(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    customer_id: str
    conference_id: str
    status: RecordingStatus = S.RECORDING
    format: RecordingFormat = RecordingFormat.WAV
    max_duration: int = 0
    beep: bool = False
    duration_ms: int = 0
    start_ms: int
    end_ms: int | None = None
    size_bytes: int = 0
    reason: str | None = None  # why it failed (FAILURE_REASONS); None unless failed
    # Its text when the conference asked for it (Plivo transcriptionType auto; issue 13).
    transcript: str | None = None
    tm_create: AwareDatetime
    tm_update: AwareDatetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status is S.RECORDING

    @property
    def filename(self) -> str:
        """The file name under the data dir's recordings/ (ids are uuids: path-safe)."""
        return f"{self.id}.{self.format.value}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def deadline(self) -> datetime | None:
        """When max_duration is reached (None: until stopped)."""
        if self.max_duration <= 0:
            return None
        start = datetime.fromtimestamp(self.start_ms / 1000, UTC)
        return start + timedelta(seconds=self.max_duration)

    def _refuse(self, action: str, detail: str = "") -> InvalidTransition:
        return InvalidTransition("recording", self.status.value, action, detail)

    def _with(self, now: datetime, **changes: Any) -> Recording:
        return self.model_copy(update={**changes, "tm_update": ensure_utc(now)})

    # --- transitions -------------------------------------------------------------------

    def finish(
        self, now: datetime, *, duration_ms: int, size_bytes: int, end_ms: int | None = None
    ) -> Recording:
        """The file is stored: recording -> finished. end_ms defaults to start + duration."""
        if self.status is not S.RECORDING:
            raise self._refuse("finish")
        if duration_ms < 0 or size_bytes < 0:
            raise ValueError("duration_ms and size_bytes must not be negative")
        end = self.start_ms + duration_ms if end_ms is None else max(end_ms, self.start_ms)
        return self._with(
            now, status=S.FINISHED, duration_ms=duration_ms, size_bytes=size_bytes, end_ms=end
        )

    def fail(self, now: datetime, reason: str) -> Recording:
        """Asterisk could not record, or the audio is lost: recording -> failed, and why."""
        if self.status is not S.RECORDING:
            raise self._refuse("fail")
        if reason not in FAILURE_REASONS:
            raise ValueError(f"unknown failure reason {reason!r}")
        return self._with(now, status=S.FAILED, end_ms=epoch_ms(now), reason=reason)

    def check_deletable(self) -> None:
        """Refuse deleting a recording that is still being made (409)."""
        if self.status is S.RECORDING:
            raise self._refuse("delete", "stop it first")

    def check_downloadable(self) -> None:
        if self.status is not S.FINISHED:
            raise self._refuse("download", "only a finished recording has a file")

    # --- JSON --------------------------------------------------------------------------

    def download_url(self, download_base: str) -> str | None:
        if self.status is not S.FINISHED:
            return None
        return f"{download_base.rstrip('/')}/{self.id}/file"

    def to_json(self, download_base: str) -> dict[str, Any]:
        """download_base: the recordings collection URL, e.g. "/v1/recordings"."""
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "conference_id": self.conference_id,
            "status": self.status.value,
            "format": self.format.value,
            "max_duration": self.max_duration,
            "duration_ms": self.duration_ms,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "size_bytes": self.size_bytes,
            "reason": self.reason,
            "download_url": self.download_url(download_base),
            "transcript": self.transcript,
            "tm_create": to_iso(self.tm_create),
            "tm_update": to_iso(self.tm_update),
        }


# --- validation ------------------------------------------------------------------------


def validate_format(value: object, field: str = "format") -> RecordingFormat:
    try:
        return RecordingFormat(value)
    except ValueError:
        allowed = ", ".join(f.value for f in RecordingFormat)
        raise ValidationFailed(field, f"must be one of: {allowed}") from None


def validate_max_duration(value: object) -> int:
    """The recording's limit in seconds: 0 (none given) is the seed's 24 h maximum, so
    every recording stops by then unless a shorter one is given."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("max_duration", "must be an integer")
    if not 0 <= value <= MAX_DURATION_LIMIT:
        raise ValidationFailed(
            "max_duration",
            f"must be 0 (the 24 h maximum) or between 1 and {MAX_DURATION_LIMIT} seconds",
        )
    return value or MAX_DURATION_LIMIT


def validate_beep(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed("beep", "must be a boolean")
    return value


def create(
    *,
    customer_id: str,
    conference_id: str,
    now: datetime,
    format: RecordingFormat | str = RecordingFormat.WAV,
    max_duration: int = 0,
    beep: bool = False,
    id: str | None = None,
) -> Recording:
    """A validated new recording in `recording`; start_ms is `now`."""
    return Recording(
        id=id or new_id(),
        customer_id=customer_id,
        conference_id=conference_id,
        status=S.RECORDING,
        format=validate_format(format),
        max_duration=validate_max_duration(max_duration),
        beep=validate_beep(beep),
        start_ms=epoch_ms(now),
        tm_create=ensure_utc(now),
    )
