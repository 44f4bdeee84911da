"""Field rules of a conference shared by create and update: limits and validators.
Pure functions raising ValidationFailed with the field's name."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

from confsvc.domain.errors import ValidationFailed


class ConferenceType(StrEnum):
    CONFERENCE = "conference"
    CONNECT = "connect"


NAME_MAX = 255
DETAIL_MAX = 2000
TIMEOUT_MAX = 86400  # 24 h, the same ceiling as the seed's recordings and participants
MAX_PARTICIPANTS_LIMIT = 20  # the seeds' ceiling and default; operators may raise the ceiling
CONNECT_MAX_PARTICIPANTS = 2
DATA_MAX_BYTES = 16384  # serialized JSON; keeps rows and webhook bodies small
CUSTOMER_ID_MAX = 64


# Control characters (C0, DEL, C1) end up in logs, CSV exports and SIP headers, where they
# cut lines or hide text. A name is one line; a detail may have tabs and line breaks.
NAME_CONTROL_CHARS = r"\x00-\x1f\x7f-\x9f"
DETAIL_CONTROL_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_NAME_CONTROL = re.compile(f"[{NAME_CONTROL_CHARS}]")
_DETAIL_CONTROL = re.compile(f"[{DETAIL_CONTROL_CHARS}]")


def _text(field: str, value: object, limit: int, control: re.Pattern[str] = _NAME_CONTROL) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(field, "must be a string")
    if len(value) > limit:
        raise ValidationFailed(field, f"must be at most {limit} characters")
    if control.search(value):
        raise ValidationFailed(field, "must not contain control characters")
    return value


def validate_name(name: object) -> str:
    return _text("name", name, NAME_MAX)


def validate_detail(detail: object) -> str:
    """Like a name, but tabs and line breaks are allowed."""
    return _text("detail", detail, DETAIL_MAX, _DETAIL_CONTROL)


def _int(field: str, value: object) -> int:
    # bool is an int subclass; True as a timeout is a client bug, not 1 second.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(field, "must be an integer")
    return value


def validate_timeout(timeout: object) -> int:
    t = _int("timeout", timeout)
    if not 0 <= t <= TIMEOUT_MAX:
        raise ValidationFailed("timeout", f"must be between 0 and {TIMEOUT_MAX} seconds")
    return t


def _bool(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(field, "must be a boolean")
    return value


def validate_data(data: object) -> dict[str, Any]:
    """A JSON object (str keys, JSON values, no NaN) of at most DATA_MAX_BYTES; returned as
    a deep copy so the caller's later mutations cannot reach the model."""
    if not isinstance(data, dict):
        raise ValidationFailed("data", "must be a JSON object")
    try:
        text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("data", f"must be JSON-serializable ({exc})") from None
    if len(text.encode()) > DATA_MAX_BYTES:
        raise ValidationFailed("data", f"must be at most {DATA_MAX_BYTES} bytes as JSON")
    copy: dict[str, Any] = json.loads(text)
    if set(copy) != set(data):  # non-str keys (1 -> "1") would silently change
        raise ValidationFailed("data", "keys must be strings")
    return copy


def participant_limit(type_: ConferenceType, ceiling: int = MAX_PARTICIPANTS_LIMIT) -> int:
    """The ceiling of max_participants for a type (ceiling: the deployment's, for rooms
    of type conference; CONFSVC_MAX_PARTICIPANTS)."""
    if type_ is ConferenceType.CONNECT:
        return CONNECT_MAX_PARTICIPANTS
    return ceiling


def default_participants(type_: ConferenceType) -> int:
    """max_participants when none is given: the seeds' 20 (2 for connect)."""
    return participant_limit(type_)


def validate_max_participants(
    value: object, type_: ConferenceType, ceiling: int = MAX_PARTICIPANTS_LIMIT
) -> int:
    limit = participant_limit(type_, ceiling)
    n = _int("max_participants", value)
    if not 1 <= n <= limit:
        raise ValidationFailed(
            "max_participants", f"must be between 1 and {limit} for type {type_.value}"
        )
    return n


def _type(value: object) -> ConferenceType:
    try:
        return ConferenceType(value)
    except ValueError:
        allowed = ", ".join(t.value for t in ConferenceType)
        raise ValidationFailed("type", f"must be one of: {allowed}") from None
