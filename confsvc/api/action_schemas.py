"""The OpenAPI shape of pre_actions / post_actions (rules: domain/actions.py, which
gives every message about a value; this only documents them from the same constants)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from confsvc.domain.actions import (
    ACTIONS_MAX,
    DIGITS_LENGTH_MAX,
    DIGITS_TIMEOUT_MAX,
    PAUSE_MAX,
    TOTAL_SECONDS_MAX,
    TYPES,
)
from confsvc.speech import TEXT_MAX

ACTION_OPTIONS: dict[str, Any] = {
    "text": {"type": "string", "minLength": 1, "maxLength": TEXT_MAX},
    "language": {"type": "string", "description": "talk: espeak-ng language, default en-US."},
    "voice": {"enum": ["WOMAN", "MAN"]},
    "media": {"type": "string", "description": "play: sound:<name> or an http(s) URL."},
    "seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": PAUSE_MAX},
    "length": {"type": "integer", "minimum": 1, "maximum": DIGITS_LENGTH_MAX},
    "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": DIGITS_TIMEOUT_MAX},
}
ACTIONS_DOC: dict[str, Any] = {
    "maxItems": ACTIONS_MAX,
    "items": {
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {"enum": list(TYPES)},
            "option": {"type": "object", "properties": ACTION_OPTIONS},
            "id": {"type": "string", "description": "Seed flow link: accepted, not kept."},
            "next_id": {"type": "string", "description": "Seed flow link: accepted, not kept."},
            **ACTION_OPTIONS,
        },
    },
    "description": "Actions run for one caller, in order: talk {text, language, voice}, "
    "play {media}, beep, pause {seconds}, digits_receive {length, timeout} (the digits "
    "become a conferencecall_digits event). Options inside `option` (the seed's shape, "
    f"as returned) or flat. At most {ACTIONS_MAX} actions; pauses, beeps and digit "
    f"timeouts at most {TOTAL_SECONDS_MAX} s together.",
}
PRE_ACTIONS_DOC: dict[str, Any] = {
    **ACTIONS_DOC,
    "description": "Heard by each caller before it enters the room (status joining; the "
    "room does not hear them; after the PIN in PIN rooms). " + ACTIONS_DOC["description"],
}
POST_ACTIONS_DOC: dict[str, Any] = {
    **ACTIONS_DOC,
    "description": "Heard by a caller removed from the room (kick, `*`, time limit, the "
    "conference ending) before it is hung up; not when it hung up itself. "
    + ACTIONS_DOC["description"],
}


class Action(BaseModel):
    type: str = Field(json_schema_extra={"enum": list(TYPES)})
    option: dict[str, Any]
