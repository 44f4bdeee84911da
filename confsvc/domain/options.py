"""Conference options: the member controls of seed 003 (Plivo's Conference element), set
when a conference is created and immutable afterwards. Pure validation, no I/O.

Media values (what the API and the options accept; engine/media.py turns them into ARI
media URIs):
    ""                  nothing (only where a sound is optional)
    beep:1 / beep:2     one / two beeps (Asterisk's stock `beep`: 0.44 s at 700 Hz, measured)
    http(s)://...       a sound file Asterisk fetches itself (res_http_media_cache); its
                        type comes from the path's extension or the Content-Type (wav,
                        gsm, ulaw, mp3...). Not Plivo's XML document: the file is played.
    <sound name>        a stock Asterisk sound, e.g. conf-onlyperson, digits/5
wait_sound is "" (none), a music-on-hold class name (e.g. default) or an http(s) URL."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from confsvc.domain.errors import ValidationFailed


class Role(StrEnum):
    MODERATOR = "moderator"
    PARTICIPANT = "participant"


BEEPS: dict[str, int] = {"beep:1": 1, "beep:2": 2}
URL_MAX = 1024
SOUND_MAX = 128
MOH_CLASS_MAX = 80
PIN_MAX = 16
DIGITS_PATTERN_MAX = 16
DIGITS_PATTERNS_MAX = 10
TIME_LIMIT_MAX = 86400  # 24 h, the ceiling used for every duration of the service
DEFAULT_MOH_CLASS = "default"

_SOUND_RE = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_/.-]{{0,{SOUND_MAX - 1}}}")
_MOH_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{MOH_CLASS_MAX}}}")
_PIN_RE = re.compile(rf"[0-9]{{1,{PIN_MAX}}}")
_PATTERN_RE = re.compile(rf"[0-9*#]{{1,{DIGITS_PATTERN_MAX}}}")
# No whitespace or control characters, and no ',' (ARI separates media URIs with commas).
_URL_FORBIDDEN = re.compile(r"[\s,\x00-\x1f\x7f]")


def is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def validate_url(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(field, "must be a string")
    if len(value) > URL_MAX:
        raise ValidationFailed(field, f"must be at most {URL_MAX} characters")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(field, "must be an absolute http(s) URL")
    if _URL_FORBIDDEN.search(value):
        raise ValidationFailed(field, "must not contain spaces, control characters or ','")
    return value


def validate_media(value: object, field: str, *, allow_empty: bool) -> str:
    """A media value (see the module doc): beep:1, beep:2, an http(s) URL or a sound name;
    "" only when allow_empty."""
    if not isinstance(value, str):
        raise ValidationFailed(field, "must be a string")
    if value == "":
        if allow_empty:
            return value
        raise ValidationFailed(field, "must not be empty")
    if value in BEEPS:
        return value
    if is_url(value):
        return validate_url(value, field)
    if ".." in value or not _SOUND_RE.fullmatch(value):
        raise ValidationFailed(
            field, "must be beep:1, beep:2, an http(s) URL or a sound name (a-z 0-9 _ - / .)"
        )
    return value


def validate_wait_sound(value: object) -> str:
    """Empty (none), a music-on-hold class or an http(s) URL."""
    if not isinstance(value, str):
        raise ValidationFailed("wait_sound", "must be a string")
    if value == "" or _MOH_RE.fullmatch(value):
        return value
    if is_url(value):
        return validate_url(value, "wait_sound")
    raise ValidationFailed(
        "wait_sound", "must be a music-on-hold class (a-z 0-9 _ -) or an http(s) URL"
    )


def validate_pin(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(field, "must be a string of digits")
    if value and not _PIN_RE.fullmatch(value):
        raise ValidationFailed(field, f"must be 1 to {PIN_MAX} digits (0-9), or empty")
    return value


def validate_digits_match(value: object) -> str:
    """Comma separated patterns of 0-9 * # (e.g. "123,#9"); normalized without spaces."""
    if not isinstance(value, str):
        raise ValidationFailed("digits_match", "must be a string")
    if value.strip() == "":
        return ""
    patterns = [p.strip() for p in value.split(",")]
    if len(patterns) > DIGITS_PATTERNS_MAX:
        raise ValidationFailed("digits_match", f"at most {DIGITS_PATTERNS_MAX} patterns")
    for p in patterns:
        if not _PATTERN_RE.fullmatch(p):
            raise ValidationFailed(
                "digits_match",
                f"patterns are 1 to {DIGITS_PATTERN_MAX} of 0-9 * #, separated by commas",
            )
    return ",".join(patterns)


def _bool(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed(field, "must be a boolean")
    return value


def validate_time_limit(value: object, field: str = "time_limit") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(field, "must be an integer")
    if not 0 <= value <= TIME_LIMIT_MAX:
        raise ValidationFailed(field, f"must be between 0 and {TIME_LIMIT_MAX} seconds")
    return value


def validate_method(value: object) -> str:
    if not isinstance(value, str) or value.upper() not in ("GET", "POST"):
        raise ValidationFailed("method", "must be GET or POST")
    return value.upper()


def validate_action(value: object) -> str:
    """ "" (no action URL) or an absolute http(s) URL."""
    return "" if value == "" else validate_url(value, "action")


class ConferenceOptions(BaseModel):
    """Per-conference member options. Defaults give a plain room: nobody muted, no
    sounds, no PIN, DTMF neither relayed nor acted upon."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enter_sound: str = ""
    exit_sound: str = ""
    start_muted: bool = False  # participants join muted (moderators never)
    wait_for_moderator: bool = False  # participants wait (muted, music) for a moderator
    end_on_moderator_exit: bool = False  # a moderator leaving ends the conference
    stay_alone: bool = True  # False: ends when one caller is left alone
    wait_sound: str = ""  # MOH class or URL while alone / waiting for a moderator
    # Plivo timeLimit: the conference's maximum duration, from its start (its creation:
    # a confsvc conference is in progress from then on); 0 = none. See conference.py.
    time_limit: int = 0
    member_time_limit: int = 0  # seconds each caller may stay, from its join (0 = none)
    # Defaults of the per-member options (domain/member_options.py).
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = False
    action: str = ""  # URL invoked when a member leaves ("" = none)
    method: str = "POST"
    redirect: bool = True
    hangup_on_star: bool = False
    digits_match: str = ""
    relay_dtmf: bool = False
    floor_events: bool = False
    pin: str = ""
    moderator_pin: str = ""

    @property
    def needs_pin(self) -> bool:
        """Callers are asked for a PIN before they enter."""
        return bool(self.pin or self.moderator_pin)

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(p for p in self.digits_match.split(",") if p)

    @property
    def waiting_sound(self) -> str:
        """What callers waiting for a moderator hear: wait_sound, else the default music."""
        return self.wait_sound or DEFAULT_MOH_CLASS

    def to_json(self) -> dict[str, Any]:
        return self.model_dump()


OPTION_FIELDS: tuple[str, ...] = tuple(ConferenceOptions.model_fields)

_VALIDATORS: dict[str, Any] = {
    "enter_sound": lambda v: validate_media(v, "enter_sound", allow_empty=True),
    "exit_sound": lambda v: validate_media(v, "exit_sound", allow_empty=True),
    "start_muted": lambda v: _bool("start_muted", v),
    "wait_for_moderator": lambda v: _bool("wait_for_moderator", v),
    "end_on_moderator_exit": lambda v: _bool("end_on_moderator_exit", v),
    "stay_alone": lambda v: _bool("stay_alone", v),
    "wait_sound": validate_wait_sound,
    "time_limit": validate_time_limit,
    "member_time_limit": lambda v: validate_time_limit(v, "member_time_limit"),
    "start_conference_on_enter": lambda v: _bool("start_conference_on_enter", v),
    "end_conference_on_exit": lambda v: _bool("end_conference_on_exit", v),
    "action": validate_action,
    "method": validate_method,
    "redirect": lambda v: _bool("redirect", v),
    "hangup_on_star": lambda v: _bool("hangup_on_star", v),
    "digits_match": validate_digits_match,
    "relay_dtmf": lambda v: _bool("relay_dtmf", v),
    "floor_events": lambda v: _bool("floor_events", v),
    "pin": lambda v: validate_pin(v, "pin"),
    "moderator_pin": lambda v: validate_pin(v, "moderator_pin"),
}


def validate_options(value: Mapping[str, Any] | ConferenceOptions | None) -> ConferenceOptions:
    """Every field by its rule (ValidationFailed names the field), then the rules between
    fields: a moderator must be possible for the moderator options (only the moderator
    PIN makes one), and the two PINs must differ."""
    if value is None:
        return ConferenceOptions()
    raw = value.model_dump() if isinstance(value, ConferenceOptions) else dict(value)
    fields: dict[str, Any] = {}
    for name, v in raw.items():
        check = _VALIDATORS.get(name)
        if check is None:
            raise ValidationFailed(name, "unknown option")
        fields[name] = check(v)
    opts = ConferenceOptions(**fields)
    if opts.pin and opts.pin == opts.moderator_pin:
        raise ValidationFailed("moderator_pin", "must differ from pin")
    for name in ("wait_for_moderator", "end_on_moderator_exit"):
        if getattr(opts, name) and not opts.moderator_pin:
            raise ValidationFailed(
                name, "needs moderator_pin: only callers entering it are moderators"
            )
    return opts
