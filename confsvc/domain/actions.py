"""pre_actions / post_actions of a conference (VoIPBIN seed 001): what one caller hears on
its way in (before it enters the bridge) and out (kicked, `*`, the conference ending, a
time limit; never after hanging up). Each action runs for that caller only, in order.

    talk            {"text": "...", "language": "en-US", "voice": "WOMAN"}   espeak-ng
    play            {"media": "sound:<name>" | "http(s)://..."}
    beep            {}
    pause           {"seconds": n}                     0 < n <= 60
    digits_receive  {"length": n, "timeout": s}        the digits -> conferencecall_digits

The seed's shape is `{"type": ..., "option": {...}}` (with `id` / `next_id` for its flow
engine; here actions run in array order, so those two are accepted and not kept). The
flat shape `{"type": "talk", "text": ...}` is accepted too. Stored and returned in the
seed's shape. Pure: ValidationFailed names the field, e.g. `pre_actions[1].seconds`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from confsvc.domain.errors import ValidationFailed
from confsvc.domain.options import is_url, validate_media, validate_url
from confsvc.speech import SpeechError
from confsvc.speech import check as check_speech

ACTIONS_MAX = 10
TOTAL_SECONDS_MAX = 60  # what the actions of one list may hold a caller for
PAUSE_MAX = 60
DIGITS_LENGTH_MAX = 20
DIGITS_TIMEOUT_MAX = 30
BEEP_SECONDS = 0.5  # the stock `beep` is 0.44 s
SOUND_PREFIX = "sound:"
DEFAULT_LANGUAGE = "en-US"
DEFAULT_VOICE = "WOMAN"
TYPES = ("talk", "play", "beep", "pause", "digits_receive")
# Per type: the option keys it takes (anything else is refused, as a typo would be).
OPTION_KEYS: dict[str, frozenset[str]] = {
    "talk": frozenset({"text", "language", "voice"}),
    "play": frozenset({"media"}),
    "beep": frozenset(),
    "pause": frozenset({"seconds"}),
    "digits_receive": frozenset({"length", "timeout"}),
}
_FLOW_KEYS = frozenset({"id", "next_id"})  # the seed's flow links: accepted, not kept
_ID_RE = re.compile(r"[0-9a-fA-F-]{0,64}")


class Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    option: dict[str, Any] = {}

    @property
    def seconds(self) -> float:
        """What the action is known to take (speech and sounds: unknown until played)."""
        match self.type:
            case "pause":
                return float(self.option["seconds"])
            case "digits_receive":
                return float(self.option["timeout"])
            case "beep":
                return BEEP_SECONDS
        return 0.0

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "option": dict(self.option)}


def validate_actions(value: object, field: str) -> tuple[Action, ...]:
    """A list of actions (None or [] = none), each checked; at most ACTIONS_MAX and at
    most TOTAL_SECONDS_MAX of known time together."""
    if value is None:
        return ()
    if isinstance(value, tuple) and all(isinstance(a, Action) for a in value):
        return value  # already validated (a stored conference)
    if not isinstance(value, list | tuple):
        raise ValidationFailed(field, "must be an array of actions")
    if len(value) > ACTIONS_MAX:
        raise ValidationFailed(field, f"must hold at most {ACTIONS_MAX} actions")
    actions = tuple(_action(item, f"{field}[{i}]") for i, item in enumerate(value))
    if sum(a.seconds for a in actions) > TOTAL_SECONDS_MAX:
        raise ValidationFailed(
            field, f"pauses, beeps and digit timeouts must add up to at most {TOTAL_SECONDS_MAX} s"
        )
    return actions


def action_urls(actions: tuple[Action, ...], field: str) -> dict[str, str]:
    """The media URLs of play actions, by field name (for the outbound policy)."""
    return {
        f"{field}[{i}].media": a.option["media"]
        for i, a in enumerate(actions)
        if a.type == "play" and is_url(a.option["media"])
    }


def _action(item: object, field: str) -> Action:
    if isinstance(item, Action):
        return item
    if not isinstance(item, Mapping):
        raise ValidationFailed(field, "must be an object with a type")
    kind = item.get("type")
    if kind not in TYPES:
        raise ValidationFailed(f"{field}.type", f"must be one of: {', '.join(TYPES)}")
    for key in _FLOW_KEYS & item.keys():
        if not isinstance(item[key], str) or not _ID_RE.fullmatch(item[key]):
            raise ValidationFailed(f"{field}.{key}", "must be a UUID string")
    flat = {k: v for k, v in item.items() if k not in _FLOW_KEYS | {"type", "option"}}
    nested = item.get("option", {})
    if not isinstance(nested, Mapping):
        raise ValidationFailed(f"{field}.option", "must be an object")
    if flat and nested:
        raise ValidationFailed(f"{field}.option", "give the options inside `option` or flat")
    option = dict(nested or flat)
    unknown = sorted(set(option) - OPTION_KEYS[kind])
    if unknown:
        raise ValidationFailed(f"{field}.{unknown[0]}", f"is not an option of {kind}")
    return Action(type=kind, option=_OPTIONS[kind](option, field))


def _talk(o: dict[str, Any], field: str) -> dict[str, Any]:
    language, voice = o.get("language", DEFAULT_LANGUAGE), o.get("voice", DEFAULT_VOICE)
    try:
        text, _, voice = check_speech(o.get("text"), language, voice)
    except SpeechError as exc:
        raise ValidationFailed(f"{field}.{exc.field}", exc.message) from None
    return {"text": text, "language": language, "voice": voice}


def _play(o: dict[str, Any], field: str) -> dict[str, Any]:
    media = o.get("media")
    where = f"{field}.media"
    if isinstance(media, str) and media.startswith(SOUND_PREFIX):
        name = media[len(SOUND_PREFIX) :]
        if not name or is_url(name) or name.startswith("beep:"):
            raise ValidationFailed(where, "must name a sound after sound:")
        validate_media(name, where, allow_empty=False)
        return {"media": media}
    if isinstance(media, str) and is_url(media):
        return {"media": validate_url(media, where)}
    raise ValidationFailed(where, "must be sound:<name> or an http(s) URL")


def _number(o: dict[str, Any], key: str, field: str, low: float, high: float) -> float:
    value = o.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
        raise ValidationFailed(f"{field}.{key}", f"must be a number above {low:g} and <= {high:g}")
    return value


def _pause(o: dict[str, Any], field: str) -> dict[str, Any]:
    return {"seconds": _number(o, "seconds", field, 0, PAUSE_MAX)}


def _digits(o: dict[str, Any], field: str) -> dict[str, Any]:
    length = o.get("length")
    if isinstance(length, bool) or not isinstance(length, int):
        raise ValidationFailed(f"{field}.length", "must be an integer")
    if not 1 <= length <= DIGITS_LENGTH_MAX:
        raise ValidationFailed(f"{field}.length", f"must be between 1 and {DIGITS_LENGTH_MAX}")
    return {"length": length, "timeout": _number(o, "timeout", field, 0, DIGITS_TIMEOUT_MAX)}


_OPTIONS = {
    "talk": _talk,
    "play": _play,
    "beep": lambda o, field: {},
    "pause": _pause,
    "digits_receive": _digits,
}
