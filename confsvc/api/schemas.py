"""Request and response shapes of the HTTP API, as pydantic models.

Request models check *shape* only: JSON types (strict: "5" is not 5, 1.0 is not 1), required
fields, and unknown fields. Value rules (lengths, room charset, ranges, type-dependent
limits) belong to the domain, which validates before anything is written; the schemas only
*document* those limits (json_schema_extra, from the domain's own constants) so the two
cannot drift apart and every message about a value comes from one place.

Response models mirror `Conference.to_json` / `Conferencecall.to_json`; they exist for the
OpenAPI document (a unit test checks real JSON validates against them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from confsvc.api.action_schemas import POST_ACTIONS_DOC, PRE_ACTIONS_DOC, Action
from confsvc.api.json_types import Integer
from confsvc.api.member_schemas import (
    ConferenceControlOut,
    MemberFieldsOut,
    OptionFields,
    option_names,
    options_from,
)
from confsvc.domain.conference import (
    DATA_MAX_BYTES,
    DETAIL_MAX,
    MAX_PARTICIPANTS_LIMIT,
    NAME_MAX,
    TIMEOUT_MAX,
    ConferenceStatus,
    ConferenceType,
)
from confsvc.domain.conference_rules import DETAIL_CONTROL_CHARS, NAME_CONTROL_CHARS
from confsvc.domain.conferencecall import ConferencecallStatus, ReferenceType
from confsvc.domain.hooks import METHODS as HOOK_METHODS
from confsvc.domain.hooks import URL_MAX
from confsvc.domain.recording import MAX_DURATION_LIMIT, RecordingFormat, RecordingStatus
from confsvc.domain.room import ROOM_MAX_LEN, ROOM_PATTERN

_NAME_DOC: dict[str, Any] = {
    "maxLength": NAME_MAX,
    "pattern": f"^[^{NAME_CONTROL_CHARS}]*$",
    "description": "Free text without control characters.",
}
_DETAIL_DOC: dict[str, Any] = {
    "maxLength": DETAIL_MAX,
    "pattern": f"^[^{DETAIL_CONTROL_CHARS}]*$",
    "description": "Free text; tab and line breaks are the only control characters allowed.",
}
_ROOM_DOC: dict[str, Any] = {
    "minLength": 1,
    "maxLength": ROOM_MAX_LEN,
    "pattern": ROOM_PATTERN,
    "description": "SIP user part callers dial: a-z A-Z 0-9 . _, not only dots. A room "
    "live for one tenant cannot be taken by another (409 room_in_use). Generated when "
    "omitted.",
}
_TIMEOUT_DOC: dict[str, Any] = {
    "minimum": 0,
    "maximum": TIMEOUT_MAX,
    "description": "Seconds from creation until auto-termination; 0 = never.",
}
_MAX_PARTICIPANTS_DOC: dict[str, Any] = {
    "minimum": 1,
    "maximum": MAX_PARTICIPANTS_LIMIT,
    "description": "Default 20 (conference) or 2 (connect, which allows at most 2). The "
    "maximum is the seeds' 20 unless the deployment raises it (CONFSVC_MAX_PARTICIPANTS).",
}
_DATA_DOC: dict[str, Any] = {
    "description": f"Free JSON object, at most {DATA_MAX_BYTES} bytes serialized."
}
_TIME_DOC: dict[str, Any] = {"format": "date-time"}
_RECORD_DOC: dict[str, Any] = {
    "description": "Record the conference's mixed audio from the first joined caller on."
}
_RECORD_FORMAT_DOC: dict[str, Any] = {"description": "Format of the `record` recording."}
_MAX_DURATION_DOC: dict[str, Any] = {
    "minimum": 0,
    "maximum": MAX_DURATION_LIMIT,
    "description": "Seconds after which the recording stops by itself; 0 = until stopped "
    "(or the conference ends).",
}

_LANGUAGE_DOC: dict[str, Any] = {
    "pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$",
    "description": "BCP 47 language tag (en-US); 422 when the speech model cannot do it.",
}
_NOTIFY_URL_DOC: dict[str, Any] = {
    "maxLength": URL_MAX,
    "description": "http(s) URL that gets every event of this conference (event JSON on "
    "POST, query parameters on GET), signed like webhooks. null or empty = none.",
}
_CALLBACK_URL_DOC: dict[str, Any] = {
    "maxLength": URL_MAX,
    "description": "Plivo-style callbacks (ConferenceAction enter, exit, record, digits, "
    "floor): form-encoded on POST, query parameters on GET. null or empty = none.",
}
_METHOD_DOC: dict[str, Any] = {"enum": list(HOOK_METHODS)}


class _Request(BaseModel):
    # strict: JSON types are checked as sent; extra=forbid: a typo is an error, not ignored.
    model_config = ConfigDict(strict=True, extra="forbid")


class ConferenceCreate(_Request, OptionFields):
    """POST /v1/conferences. Only `type` is required (the seed's `{"type": "connect"}`)."""

    # Enums arrive as JSON strings; strict mode would only take enum instances here.
    type: ConferenceType = Field(strict=False)
    name: str = Field(default="", json_schema_extra=_NAME_DOC)
    detail: str = Field(default="", json_schema_extra=_DETAIL_DOC)
    room: str | None = Field(default=None, json_schema_extra=_ROOM_DOC)
    timeout: Integer = Field(default=0, json_schema_extra=_TIMEOUT_DOC)
    max_participants: Integer | None = Field(default=None, json_schema_extra=_MAX_PARTICIPANTS_DOC)
    data: dict[str, Any] = Field(default_factory=dict, json_schema_extra=_DATA_DOC)
    record: bool = Field(default=False, json_schema_extra=_RECORD_DOC)
    record_format: RecordingFormat = Field(
        default=RecordingFormat.WAV, strict=False, json_schema_extra=_RECORD_FORMAT_DOC
    )
    notify_url: str | None = Field(default=None, json_schema_extra=_NOTIFY_URL_DOC)
    notify_method: str = Field(default="POST", json_schema_extra=_METHOD_DOC)
    callback_url: str | None = Field(default=None, json_schema_extra=_CALLBACK_URL_DOC)
    callback_method: str = Field(default="POST", json_schema_extra=_METHOD_DOC)
    transcribe: bool = Field(
        default=False,
        description="Transcribe every caller live from the first joined caller on "
        "(needs transcribe_language).",
    )
    transcribe_language: str | None = Field(
        default=None,
        json_schema_extra=_LANGUAGE_DOC,
    )
    transcription_type: Literal["auto"] | None = Field(
        default=None,
        description="Plivo transcriptionType: auto = each finished recording of this "
        "conference is transcribed (its `transcript`), and POSTed to transcription_url.",
    )
    transcription_url: str | None = Field(
        default=None,
        json_schema_extra={
            "maxLength": URL_MAX,
            "description": "Plivo transcriptionUrl: gets the recording's text (form POST "
            "with Plivo's parameter names).",
        },
    )

    pre_actions: list[dict[str, Any]] = Field(
        default_factory=list, json_schema_extra=PRE_ACTIONS_DOC
    )
    post_actions: list[dict[str, Any]] = Field(
        default_factory=list, json_schema_extra=POST_ACTIONS_DOC
    )

    def engine_fields(self) -> dict[str, Any]:
        # None (room, max_participants) means "let the domain choose": leave it out.
        # The member options (OptionFields) go to the domain as one `options` object.
        return options_from(self.model_dump(exclude_none=True))


def _no_defaults(schema: dict[str, Any]) -> None:
    # An omitted PUT field means "unchanged", not "reset to a default": don't advertise one.
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class ConferenceUpdate(_Request):
    """PUT /v1/conferences/{id}: a partial update; omitted fields stay as they are, `data`
    is replaced as a whole. type, room and max_participants cannot change."""

    model_config = ConfigDict(json_schema_extra=_no_defaults)

    name: str = Field(default="", json_schema_extra=_NAME_DOC)
    detail: str = Field(default="", json_schema_extra=_DETAIL_DOC)
    timeout: Integer = Field(default=0, json_schema_extra=_TIMEOUT_DOC)
    data: dict[str, Any] = Field(default_factory=dict, json_schema_extra=_DATA_DOC)
    # "" clears a URL.
    notify_url: str = Field(default="", json_schema_extra=_NOTIFY_URL_DOC)
    notify_method: str = Field(default="POST", json_schema_extra=_METHOD_DOC)
    callback_url: str = Field(default="", json_schema_extra=_CALLBACK_URL_DOC)
    callback_method: str = Field(default="POST", json_schema_extra=_METHOD_DOC)
    # Replaced as a whole; [] = none.
    pre_actions: list[dict[str, Any]] = Field(
        default_factory=list, json_schema_extra=PRE_ACTIONS_DOC
    )
    post_actions: list[dict[str, Any]] = Field(
        default_factory=list, json_schema_extra=POST_ACTIONS_DOC
    )

    def engine_fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class NoFields(_Request):
    """A body with nothing in it (`{}`): for actions that take no fields."""


IMMUTABLE_FIELDS = frozenset(
    {
        "type",
        "room",
        "max_participants",
        "record",
        "record_format",
        "transcribe",
        "transcribe_language",
        "transcription_type",
        "transcription_url",
        *option_names(),
    }
)


class TranscribeStart(_Request):
    """POST /v1/conferences/{id}/transcribe_start."""

    language: str = Field(json_schema_extra=_LANGUAGE_DOC)


class RecordingStart(_Request):
    """POST /v1/conferences/{id}/recording_start; an empty body takes every default."""

    format: RecordingFormat = Field(default=RecordingFormat.WAV, strict=False)
    max_duration: Integer = Field(default=0, json_schema_extra=_MAX_DURATION_DOC)
    beep: bool = Field(default=False, description="Play a beep when the recording starts.")

    def engine_fields(self) -> dict[str, Any]:
        return {
            "format": self.format.value,
            "max_duration": self.max_duration,
            "beep": self.beep,
        }


# --- responses -------------------------------------------------------------------------


class Conference(ConferenceControlOut):
    id: str
    customer_id: str
    type: ConferenceType
    status: ConferenceStatus
    name: str
    detail: str
    room: str
    dial_uri: str = Field(description="sip:<room>@<host>: what a softphone dials to join.")
    media_node: str | None = Field(
        default=None,
        description="The media node (Asterisk) a live conference is on; null once it ended "
        'or while it has none (README "Running several media nodes").',
    )
    timeout: int
    max_participants: int
    data: dict[str, Any]
    record: bool
    record_format: RecordingFormat
    notify_url: str | None
    notify_method: str
    callback_url: str | None
    callback_method: str
    conferencecall_ids: list[str] = Field(description="Live participants, in join order.")
    recording_id: str | None = Field(description="The active recording, if any.")
    recording_ids: list[str] = Field(description="Every recording of this conference.")
    transcribe: bool
    transcribe_language: str | None
    transcribe_id: str | None = Field(description="The active transcription, if any.")
    transcribe_ids: list[str] = Field(description="Every transcription of this conference.")
    transcription_type: str | None
    transcription_url: str | None
    pre_actions: list[Action] = Field(description="What a caller hears on its way in.")
    post_actions: list[Action] = Field(description="What a removed caller hears on its way out.")
    tm_create: str = Field(json_schema_extra=_TIME_DOC)
    tm_update: str | None = Field(json_schema_extra=_TIME_DOC)
    tm_delete: str | None = Field(json_schema_extra=_TIME_DOC)


class Caller(BaseModel):
    number: str
    name: str


class Conferencecall(MemberFieldsOut):
    id: str
    customer_id: str
    conference_id: str
    reference_type: ReferenceType
    reference_id: str = Field(description="The ARI channel id of the call leg.")
    status: ConferencecallStatus
    caller: Caller
    tm_create: str = Field(json_schema_extra=_TIME_DOC)
    tm_update: str | None = Field(json_schema_extra=_TIME_DOC)
    tm_delete: str | None = Field(json_schema_extra=_TIME_DOC)


class Recording(BaseModel):
    id: str
    customer_id: str
    conference_id: str
    status: RecordingStatus
    format: RecordingFormat
    max_duration: int = Field(
        description="Seconds; it stops then (86400, the seed's 24 h maximum, when none given)."
    )
    duration_ms: int = Field(description="Length of the stored audio (0 until finished).")
    start_ms: int = Field(description="Start, epoch milliseconds (UTC).")
    end_ms: int | None = Field(description="End, epoch milliseconds (UTC); null while recording.")
    size_bytes: int = Field(description="Size of the file (0 until finished).")
    reason: str | None = Field(
        description="Why a failed recording failed (asterisk_failed, no_file, "
        "file_not_stored, not_stopped, asterisk_unavailable, start_failed); null otherwise.",
    )
    download_url: str | None = Field(
        description="GET it for the audio (audio/wav or audio/mpeg); null until finished."
    )
    transcript: str | None = Field(
        description="The recording's text (transcription_type auto); null until transcribed."
    )
    tm_create: str = Field(json_schema_extra=_TIME_DOC)
    tm_update: str | None = Field(json_schema_extra=_TIME_DOC)


class RecordingList(BaseModel):
    result: list[Recording]
    next_page_token: str | None = Field(description="Pass as page_token; null on the last page.")


class ConferenceList(BaseModel):
    result: list[Conference]
    next_page_token: str | None = Field(description="Pass as page_token; null on the last page.")


class ConferencecallList(BaseModel):
    result: list[Conferencecall]
    next_page_token: str | None = Field(description="Pass as page_token; null on the last page.")


class Error(BaseModel):
    error: str = Field(description="Stable machine code, e.g. conference_not_found.")
    message: str = Field(description="Human-readable explanation.")
    field: str | None = Field(default=None, description="The offending field (422, some 400).")


class Health(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: str


REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    ConferenceCreate,
    ConferenceUpdate,
    RecordingStart,
    TranscribeStart,
)
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    Conference,
    Conferencecall,
    Recording,
    ConferenceList,
    ConferencecallList,
    RecordingList,
    Error,
    Health,
)
