"""Where a conference reports what happens in it (pure validators, no I/O).

- `notify_url` / `notify_method`: every event of the conference as our event JSON (POST)
  or as query parameters (GET) - the Hoiio-style notification.
- `callback_url` / `callback_method`: Plivo-style callbacks (ConferenceAction enter, exit,
  record, digits, floor), form-encoded (POST) or as query parameters (GET).

A URL is absolute http(s) with a host; "" or None means "none". Methods are GET or POST."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from confsvc.domain.errors import ValidationFailed

URL_MAX = 2048
METHODS = ("GET", "POST")
DEFAULT_METHOD = "POST"


def validate_url(field: str, value: object) -> str | None:
    """An absolute http(s) URL, or None for none (None or "")."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationFailed(field, "must be a string")
    if len(value) > URL_MAX:
        raise ValidationFailed(field, f"must be at most {URL_MAX} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationFailed(field, "must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # ValueError for a bad port
    except ValueError:
        raise ValidationFailed(field, "must be a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(field, "must be an absolute http:// or https:// URL")
    if port == 0:
        raise ValidationFailed(field, "must be a valid URL")
    if parts.fragment:
        raise ValidationFailed(field, "must not have a #fragment")
    return value


def validate_method(field: str, value: object) -> str:
    if not isinstance(value, str) or value.upper() not in METHODS:
        raise ValidationFailed(field, f"must be one of: {', '.join(METHODS)}")
    return value.upper()


def validate_hooks(
    *,
    notify_url: object = None,
    notify_method: object = DEFAULT_METHOD,
    callback_url: object = None,
    callback_method: object = DEFAULT_METHOD,
) -> dict[str, Any]:
    """The four conference fields, validated (creation: every field has a value)."""
    return {
        "notify_url": validate_url("notify_url", notify_url),
        "notify_method": validate_method("notify_method", notify_method),
        "callback_url": validate_url("callback_url", callback_url),
        "callback_method": validate_method("callback_method", callback_method),
    }


def hook_changes(
    *,
    notify_url: object = None,
    notify_method: object = None,
    callback_url: object = None,
    callback_method: object = None,
) -> dict[str, Any]:
    """An update: None = unchanged; a URL of "" clears it."""
    changes: dict[str, Any] = {}
    if notify_url is not None:
        changes["notify_url"] = validate_url("notify_url", notify_url)
    if notify_method is not None:
        changes["notify_method"] = validate_method("notify_method", notify_method)
    if callback_url is not None:
        changes["callback_url"] = validate_url("callback_url", callback_url)
    if callback_method is not None:
        changes["callback_method"] = validate_method("callback_method", callback_method)
    return changes
