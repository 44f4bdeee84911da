"""Shapes of participant control (issue 5): the conference options (mixed into
ConferenceCreate and the Conference response), the conferencecall's member fields, the
play body, and the Plivo-style answers (api/plivo.py). As in schemas.py: shape only here;
value rules are the domain's (confsvc/domain/options.py), whose limits are documented."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from confsvc.api.json_types import Integer
from confsvc.domain.options import (
    DIGITS_PATTERN_MAX,
    PIN_MAX,
    TIME_LIMIT_MAX,
    URL_MAX,
    Role,
)

_SOUND = "'' (none), beep:1, beep:2, an http(s) URL of a sound file, or a stock sound name"
_PIN = {"pattern": f"^[0-9]{{0,{PIN_MAX}}}$"}


class OptionFields(BaseModel):
    """The conference options (set at creation, immutable). Mixed into ConferenceCreate
    (a strict request) and the Conference response."""

    enter_sound: str = Field(default="", description=f"Played to the room on a join: {_SOUND}.")
    exit_sound: str = Field(default="", description=f"Played to the room on a leave: {_SOUND}.")
    start_muted: bool = Field(default=False, description="Participants join muted.")
    wait_for_moderator: bool = Field(
        default=False,
        description="Participants wait muted, hearing music, until a moderator is in "
        "(needs moderator_pin).",
    )
    end_on_moderator_exit: bool = Field(
        default=False,
        description="A moderator leaving ends the conference (needs moderator_pin).",
    )
    stay_alone: bool = Field(
        default=True, description="false: the conference ends when one caller is left alone."
    )
    wait_sound: str = Field(
        default="",
        description="Music-on-hold class or http(s) URL played while one caller is alone "
        "or participants wait for a moderator ('' = silence when alone, `default` music "
        "while waiting).",
    )
    time_limit: Integer = Field(
        default=0,
        json_schema_extra={"minimum": 0, "maximum": TIME_LIMIT_MAX},
        description="Plivo timeLimit: the conference's maximum duration in seconds from its "
        "start (its creation); it ends then, as with timeout (the shorter wins). 0 = none.",
    )
    member_time_limit: Integer = Field(
        default=0,
        json_schema_extra={"minimum": 0, "maximum": TIME_LIMIT_MAX},
        description="Seconds each caller may stay in the room, from its join; 0 = no limit.",
    )
    start_conference_on_enter: bool = Field(
        default=True,
        description="Default of the members' start_conference_on_enter (Plivo "
        "startConferenceOnEnter): false: members wait muted, hearing music, until one "
        "with true joins.",
    )
    end_conference_on_exit: bool = Field(
        default=False,
        description="Default of the members' end_conference_on_exit: a member with it "
        "leaving ends the conference.",
    )
    action: str = Field(
        default="",
        json_schema_extra={"maxLength": URL_MAX},
        description="Default action URL: invoked when a member leaves, with ConferenceName, "
        "ConferenceUUID, ConferenceMemberID, RecordUrl, RecordingID ('' = none).",
    )
    method: str = Field(
        default="POST", json_schema_extra={"enum": ["GET", "POST"]}, description="For action."
    )
    redirect: bool = Field(
        default=True, description="Plivo's redirect; shown, no effect (no Plivo XML here)."
    )
    hangup_on_star: bool = Field(default=False, description="`*` takes the caller out.")
    digits_match: str = Field(
        default="",
        description=f"Comma separated digit patterns (0-9 * #, up to {DIGITS_PATTERN_MAX} "
        "each), e.g. `123,#9`: a caller pressing one raises conferencecall_digits.",
    )
    relay_dtmf: bool = Field(default=False, description="Send each caller's digits to the others.")
    floor_events: bool = Field(
        default=False, description="Talk detection: `talking` and floor_conferencecall_id."
    )
    pin: str = Field(
        default="", json_schema_extra=_PIN, description="Callers enter it to join (participant)."
    )
    moderator_pin: str = Field(
        default="", json_schema_extra=_PIN, description="Callers entering it join as moderator."
    )


class MemberOptionsRequest(BaseModel):
    """Per-member options (Plivo <Conference> attributes) of a call not yet in the room;
    null: the conference default. JSON or form-encoded."""

    model_config = ConfigDict(extra="forbid")

    start_conference_on_enter: bool | None = Field(
        default=None, description="true: starts the conference; false: waits (muted, music)."
    )
    end_conference_on_exit: bool | None = Field(
        default=None, description="true: the conference ends when this member leaves."
    )
    stay_alone: bool | None = Field(
        default=None, description="false: the conference ends when a member is alone in it."
    )
    muted: bool | None = Field(default=None, description="Joins muted.")
    action: str | None = Field(
        default=None,
        json_schema_extra={"maxLength": URL_MAX},
        description="URL invoked when this member leaves ('' = none).",
    )
    method: str | None = Field(default=None, description="GET or POST, for action.")
    redirect: bool | None = Field(default=None, description="Shown; no effect here.")


class MemberOptionsOut(BaseModel):
    start_conference_on_enter: bool | None = Field(description="null: the conference default.")
    end_conference_on_exit: bool | None = Field(description="null: the conference default.")
    stay_alone: bool | None = Field(description="null: the conference default.")
    action: str | None = Field(description="null: the conference default.")
    method: str | None = Field(description="null: the conference default.")
    redirect: bool | None = Field(description="null: the conference default.")


class ConferenceControlOut(OptionFields):
    floor_conferencecall_id: str | None = Field(
        default=None, description="Who last started talking (floor_events)."
    )


class MemberFieldsOut(MemberOptionsOut):
    role: Role
    muted: bool = Field(description="Not heard by the others.")
    deaf: bool = Field(description="Hears nothing of the room.")
    talking: bool = Field(description="Talking now (only with floor_events).")
    waiting_for: str | None = Field(
        description="`pin`: entering its PIN (not in the room yet); `moderator`: muted "
        "until a moderator joins; null otherwise."
    )


class PlayRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    media: str = Field(
        json_schema_extra={"maxLength": URL_MAX},
        description="beep:1, beep:2, an http(s) URL of a sound file, or a stock sound name.",
    )


# --- Plivo (api/plivo.py) --------------------------------------------------------------


class PlivoConferenceList(BaseModel):
    api_id: str
    conferences: list[str] = Field(description="Names (rooms) of the live conferences.")


class PlivoMember(BaseModel):
    muted: bool
    member_id: str = Field(description="The conferencecall id.")
    deaf: bool
    from_: str = Field(alias="from", description="Caller number.")
    to: str = Field(description="What was dialled: the room.")
    caller_name: str = Field(description="URL-encoded, as in Plivo.")
    direction: str = Field(description="Always inbound (callers dial in).")
    call_uuid: str = Field(description="The Asterisk channel id.")
    join_time: str = Field(description="Seconds since it joined.")


class PlivoConference(BaseModel):
    conference_name: str
    conference_run_time: str = Field(description="Seconds since the conference was created.")
    conference_member_count: str
    members: list[PlivoMember]
    api_id: str


class PlivoMemberResult(BaseModel):
    message: str
    member_id: list[str]
    api_id: str


class PlivoAsync(BaseModel):
    api_id: str
    message: str = Field(description="The result is POSTed to callback_url.")


class PlivoCallback(BaseModel):
    """The optional body (JSON or form) of the Plivo POST and DELETE routes; the same
    fields are also taken from the query."""

    model_config = ConfigDict(extra="forbid")

    callback_url: str = Field(
        default="", description="Run asynchronously and send the result here ('' = no)."
    )
    callback_method: str = Field(default="POST", json_schema_extra={"enum": ["POST", "GET"]})
    # Sent by Plivo's SDKs; accepted and ignored (plivo.py IGNORED).
    conference_name: str | None = Field(default=None, description="Ignored (the path's).")
    member_id: str | None = Field(default=None, description="Ignored (the path's).")


class PlivoPlay(PlivoCallback):
    url: str = Field(description="What to play (same values as /play's media).")


class PlivoSpeak(PlivoCallback):
    text: str = Field(description="The words, made into speech with espeak-ng.")
    voice: str = Field(default="WOMAN", json_schema_extra={"enum": ["WOMAN", "MAN"]})
    language: str = Field(default="en-US", description="e.g. en-US, en-GB, fr-FR, de-DE.")


class PlivoRecordStart(PlivoCallback):
    file_format: str = Field(default="mp3", json_schema_extra={"enum": ["mp3", "wav"]})
    transcription_type: str | None = Field(default=None, description="Ignored.")
    transcription_url: str | None = Field(default=None, description="Ignored.")
    transcription_method: str | None = Field(default=None, description="Ignored.")


class PlivoRecord(BaseModel):
    api_id: str
    message: str
    recording_id: str = Field(description="The confsvc recording id (/v1/recordings/{id}).")
    url: str = Field(description="Where its file downloads once it is finished.")


MODELS: tuple[tuple[type[BaseModel], str], ...] = (
    (PlayRequest, "validation"),
    (PlivoCallback, "validation"),
    (PlivoPlay, "validation"),
    (PlivoSpeak, "validation"),
    (PlivoRecordStart, "validation"),
    (PlivoRecord, "serialization"),
    (PlivoConferenceList, "serialization"),
    (PlivoConference, "serialization"),
    (PlivoMemberResult, "serialization"),
    (PlivoAsync, "serialization"),
)


def option_names() -> tuple[str, ...]:
    return tuple(OptionFields.model_fields)


def options_from(fields: dict[str, Any]) -> dict[str, Any]:
    """Move the option fields of a create body into `options` (the domain's shape)."""
    options = {name: fields.pop(name) for name in option_names() if name in fields}
    if options:
        fields["options"] = options
    return fields
