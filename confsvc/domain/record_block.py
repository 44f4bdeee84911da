"""The Hoiio IVR Record block (seed 002) on a conferencecall: what a request may contain,
its `msg` markup, and the notification it ends with. Pure: no I/O.

    session       the conferencecall id (the seed's "unique session ID for this call")
    msg           a prompt played to that caller before the beep: plain text (English,
                  female), or markup: <speech language="zh-HK" gender="female">...</speech>
                  and <url>https://.../file.mp3</url> parts, in order
    max_duration  1-86400 seconds, default 120
    tag           at most 256 characters
    notify_url    http(s), at most 4000 characters

Errors carry the seed's result codes as their stable `code` (error_msg_invalid_xml,
error_invalid_max_duration...)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from confsvc.domain.dialout import billed_minutes, seed_date
from confsvc.domain.dialout_rules import DialoutError, malformed, validate_tag

MSG_MAX = 1000  # the parameter's "Max 1000 characters" (its error text says 500)
MAX_DURATION_DEFAULT = 120
MAX_DURATION_LIMIT = 86400
NOTIFY_URL_MAX = 4000
FILE_FORMATS = (".mp3", ".wav", ".gsm")
GENDERS = {"female": "WOMAN", "male": "MAN"}  # -> confsvc/speech.py voices
DEFAULT_LANGUAGE = "en"
LANGUAGE_RE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?")
FIELDS = frozenset({"session", "msg", "max_duration", "tag", "notify_url"})


class RecordBlockError(DialoutError):
    """A refused Record block request; `code` is the seed's result code."""


@dataclass(frozen=True, slots=True)
class Speak:
    text: str
    language: str = DEFAULT_LANGUAGE
    voice: str = "WOMAN"


@dataclass(frozen=True, slots=True)
class Audio:
    url: str


Prompt = Speak | Audio


@dataclass(frozen=True, slots=True)
class RecordBlockRequest:
    prompt: tuple[Prompt, ...] = ()
    max_duration: int = MAX_DURATION_DEFAULT
    tag: str | None = None
    notify_url: str | None = None


def _err(code: str, message: str, field: str = "msg") -> RecordBlockError:
    return RecordBlockError(code, message, field=field)


def _speak(text: str, language: str | None, gender: str | None) -> Speak:
    lang = DEFAULT_LANGUAGE if language is None else language
    if not LANGUAGE_RE.fullmatch(lang):
        raise _err("error_msg_invalid_language", f"language {lang!r} is not a language code")
    voice = GENDERS.get((gender or "female").lower())
    if voice is None:
        raise _err("error_msg_invalid_gender", "gender must be female or male")
    return Speak(text.strip(), lang, voice)


def _audio(url: str) -> Audio:
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a bad port
    except ValueError:
        raise _err("error_msg_invalid_url", "the <url> is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise _err("error_msg_invalid_url", "the <url> must be an http:// or https:// URL")
    if not parts.path.lower().endswith(FILE_FORMATS):
        raise _err("error_msg_invalid_file_format", "the <url> file must be .mp3, .wav or .gsm")
    return Audio(url)


def parse_msg(value: object) -> tuple[Prompt, ...]:
    """The prompt's parts in order: plain text is one Speak; markup is read as XML."""
    if value is None or value == "":
        return ()
    if not isinstance(value, str):
        raise malformed("msg must be a string", "msg")
    if len(value) > MSG_MAX:
        raise _err("error_msg_invalid_length", f"msg must be {MSG_MAX} characters or less")
    if "<" not in value:
        return (Speak(value.strip()),) if value.strip() else ()
    try:
        root = ET.fromstring(f"<msg>{value}</msg>")
    except ET.ParseError as exc:
        raise _err("error_msg_invalid_xml", f"msg markup is not valid XML: {exc}") from None
    out: list[Prompt] = []
    if root.text and root.text.strip():
        out.append(Speak(root.text.strip()))
    for el in root:
        if el.tag == "speech":
            if len(el):
                raise _err("error_msg_invalid_xml", "<speech> holds text only")
            if (el.text or "").strip():
                out.append(_speak(el.text or "", el.get("language"), el.get("gender")))
        elif el.tag == "url":
            out.append(_audio(el.text or ""))
        else:
            raise _err("error_msg_invalid_xml", f"unknown element <{el.tag}>")
        if el.tail and el.tail.strip():
            out.append(Speak(el.tail.strip()))
    return tuple(out)


def validate_max_duration(value: object) -> int:
    if value is None or value == "":
        return MAX_DURATION_DEFAULT
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 6:
        value = int(value.strip())  # the seed's type is string
    if isinstance(value, bool) or not isinstance(value, int):
        raise _err(
            "error_invalid_max_duration", "max_duration must be whole seconds", "max_duration"
        )
    if not 1 <= value <= MAX_DURATION_LIMIT:
        raise _err(
            "error_invalid_max_duration",
            f"max_duration must be between 1 and {MAX_DURATION_LIMIT} seconds",
            "max_duration",
        )
    return value


def validate_notify_url(value: object) -> str | None:
    if value is None or value == "":
        return None
    bad = _err("error_invalid_notify_url", "notify_url must be an http(s) URL", "notify_url")
    if not isinstance(value, str) or len(value) > NOTIFY_URL_MAX:
        raise _err(
            "error_invalid_notify_url",
            f"notify_url must be at most {NOTIFY_URL_MAX} characters",
            "notify_url",
        )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise bad
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises for a bad port
    except ValueError:
        raise bad from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise bad
    return value


def parse_request(body: dict[str, Any]) -> RecordBlockRequest:
    """The request (JSON object or form, app_id/access_token already taken out), checked
    in the seed's order; the first problem raises."""
    for key in body:
        if key not in FIELDS:
            raise malformed(f"unknown parameter {key!r}", key)
    return RecordBlockRequest(
        prompt=parse_msg(body.get("msg")),
        max_duration=validate_max_duration(body.get("max_duration")),
        tag=validate_tag(body.get("tag")),
        notify_url=validate_notify_url(body.get("notify_url")),
    )


@dataclass(frozen=True, slots=True)
class RecordBlockResult:
    """How a Record block ended: what its notification says."""

    session: str  # the conferencecall id
    txn_ref: str  # the block's id = its recording's id
    tag: str | None
    call_ended: bool  # call_state: ended (the caller hung up) or ongoing
    record_url: str | None  # None: record_status failed
    dest: str | None = None  # a dial-out call: the number dialled
    from_number: str | None = None  # a dial-in call: the caller's number
    to: str | None = None  # a dial-in call: what it dialled (the room)
    call_start: datetime | None = None
    call_end: datetime | None = None

    def notify_params(self) -> dict[str, str]:
        """The seed's notification parameters (form-encoded POST to notify_url). No
        currency/rate/debit: no billing."""
        params = {
            "ivr_block": "record",
            "session": self.session,
            "txn_ref": self.txn_ref,
            "call_state": "ended" if self.call_ended else "ongoing",
            "record_status": "success" if self.record_url else "failed",
        }
        for key, value in (("dest", self.dest), ("from", self.from_number), ("to", self.to)):
            if value:
                params[key] = value
        if self.tag is not None:
            params["tag"] = self.tag
        if self.record_url:
            params["record_url"] = self.record_url
        if self.call_ended and self.call_start is not None and self.call_end is not None:
            params["date"] = seed_date(self.call_end)
            ms = int((self.call_end - self.call_start).total_seconds() * 1000)
            params["duration"] = str(billed_minutes(ms))
        return params
