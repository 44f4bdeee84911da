"""A new conference: every field of a create request validated, in `starting` (the
transitions are in conference.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from confsvc.domain.actions import validate_actions
from confsvc.domain.conference import Conference, ConferenceStatus
from confsvc.domain.conference_rules import (
    CUSTOMER_ID_MAX,
    MAX_PARTICIPANTS_LIMIT,
    ConferenceType,
    _bool,
    _text,
    _type,
    default_participants,
    validate_data,
    validate_detail,
    validate_max_participants,
    validate_name,
    validate_timeout,
)
from confsvc.domain.errors import ValidationFailed
from confsvc.domain.hooks import validate_hooks, validate_url
from confsvc.domain.ids import ensure_utc, new_id
from confsvc.domain.options import ConferenceOptions, validate_options
from confsvc.domain.recording import RecordingFormat, validate_format
from confsvc.domain.room import generate_room, validate_room
from confsvc.domain.transcribe import validate_language, validate_transcription_type


def create(
    *,
    customer_id: str,
    now: datetime,
    type: ConferenceType | str = ConferenceType.CONFERENCE,
    name: str = "",
    detail: str = "",
    room: str | None = None,
    timeout: int = 0,
    max_participants: int | None = None,
    data: dict[str, Any] | None = None,
    record: bool = False,
    record_format: RecordingFormat | str = RecordingFormat.WAV,
    options: dict[str, Any] | ConferenceOptions | None = None,
    id: str | None = None,
    ceiling: int = MAX_PARTICIPANTS_LIMIT,
    transcribe: bool = False,
    transcribe_language: str | None = None,
    transcription_type: str | None = None,
    transcription_url: str | None = None,
    pre_actions: list[Any] | None = None,
    post_actions: list[Any] | None = None,
    **hooks: str | None,
) -> Conference:
    """A validated new conference in `starting`. room None -> generated (the store still
    checks uniqueness). max_participants None -> 20, or 2 for connect; at most `ceiling`
    (the deployment's CONFSVC_MAX_PARTICIPANTS, 20 by default). Pass `id` to choose
    it (the architecture makes it the ARI bridge id). record: start recording (in
    record_format) when the first caller joins."""
    if not _text("customer_id", customer_id, CUSTOMER_ID_MAX):
        raise ValidationFailed("customer_id", "must not be empty")
    type_ = _type(type)
    if max_participants is None:
        max_participants = default_participants(type_)
    language = transcribe_language
    if _bool("transcribe", transcribe) or language is not None:
        # The seed: a language must be given (whether the model speaks it: the engine).
        language = validate_language(language, "transcribe_language")
    return Conference(
        id=id or new_id(),
        customer_id=customer_id,
        type=type_,
        status=ConferenceStatus.STARTING,
        name=validate_name(name),
        detail=validate_detail(detail),
        room=generate_room() if room is None else validate_room(room),
        timeout=validate_timeout(timeout),
        max_participants=validate_max_participants(max_participants, type_, ceiling),
        data=validate_data({} if data is None else data),
        record=_bool("record", record),
        record_format=validate_format(record_format, "record_format"),
        options=validate_options(options),
        **validate_hooks(**hooks),  # notify_url/_method, callback_url/_method
        transcribe=transcribe,
        transcribe_language=language,
        transcription_type=validate_transcription_type(transcription_type),
        transcription_url=validate_url("transcription_url", transcription_url),
        pre_actions=validate_actions(pre_actions, "pre_actions"),
        post_actions=validate_actions(post_actions, "post_actions"),
        tm_create=ensure_utc(now),
    )
