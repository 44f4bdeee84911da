"""Dial-out requests (seed 000, Hoiio conference/call): what a request may contain, who may
call where, and how many calls a tenant may have at once. Pure: no I/O.

Errors carry the seed's result codes (`error_dest_invalid`, `error_tag_invalid_length`...)
as their stable `code`; the API answers `{"error": <code>, "message", "field"}`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from confsvc.domain.errors import DomainError, ValidationFailed
from confsvc.domain.hooks import validate_url
from confsvc.domain.member_options import MemberOptions, validate_member_options
from confsvc.domain.room import validate_room

MAX_DESTINATIONS = 8  # the seed: "A maximum of 8 numbers are allowed"
TAG_MAX = 256
RING_TIMEOUT_DEFAULT = 30  # seconds a destination rings before it is unanswered
RING_TIMEOUT_MAX = 120
# The seed's "Each conference room allows a maximum of 8 active participants": rooms
# created by POST /v1/calls get this max_participants.
HOIIO_ROOM_MAX = 8
DEFAULT_MAX_CALLS = 8  # concurrent dial-out calls per tenant (the seed's account limit)
PRIVATE = "private"
# E.164: "+", a country code not starting with 0, at most 15 digits in all.
_E164_RE = re.compile(r"\+[1-9][0-9]{5,14}")
# The request's fields (dest and destinations are one parameter, two spellings).
FIELDS = frozenset(
    {"dest", "destinations", "room", "caller_id", "tag", "notify_url", "timeout", "member_options"}
)


class DialoutError(DomainError):
    """A refused dial-out request; `code` is the seed's result code."""

    def __init__(self, code: str, message: str, *, field: str | None = None, status: int = 422):
        super().__init__(message, code=code)
        self.http_status = status
        self.field = field


def missing(field: str) -> DialoutError:
    return DialoutError(f"error_{field}_param_missing", f"{field} is required", field=field)


def malformed(message: str, field: str | None = None) -> DialoutError:
    return DialoutError("error_malformed_params", message, field=field, status=400)


def is_e164(number: object) -> bool:
    return isinstance(number, str) and _E164_RE.fullmatch(number) is not None


@dataclass(frozen=True, slots=True)
class DialoutRequest:
    """A validated request: the numbers in order and what applies to each call."""

    destinations: tuple[str, ...]
    room: str | None = None
    caller_id: str = ""  # "" = the trunk's own caller id; "private" = withheld
    tag: str | None = None
    notify_url: str | None = None
    timeout: int = RING_TIMEOUT_DEFAULT
    # Plivo's per-member options for every callee of the request (domain/member_options.py).
    member_options: MemberOptions = field(default_factory=MemberOptions)


def validate_destinations(value: object, field: str = "dest") -> tuple[str, ...]:
    """A list of E.164 numbers, or the seed's comma separated string; 1 to 8, no repeats."""
    if value is None or value == "":
        raise missing("dest")
    if isinstance(value, str):
        items: list[object] = [part.strip() for part in value.split(",")]
    elif isinstance(value, list):
        items = list(value)
    else:
        raise DialoutError("error_dest_invalid", f"{field} must be a list of numbers", field=field)
    if not 1 <= len(items) <= MAX_DESTINATIONS:
        raise DialoutError(
            "error_dest_invalid", f"{field}: 1 to {MAX_DESTINATIONS} numbers", field=field
        )
    out: list[str] = []
    for item in items:
        if not is_e164(item):
            raise DialoutError(
                "error_dest_invalid",
                f"{field}: {item!r} is not an E.164 number (+ and country code, e.g. +6511111111)",
                field=field,
            )
        assert isinstance(item, str)
        if item in out:
            raise DialoutError(
                "error_dest_invalid", f"{field}: {item} is listed twice", field=field
            )
        out.append(item)
    return tuple(out)


def validate_caller_id(value: object) -> str:
    if value is None or value == "":
        return ""
    if value == PRIVATE or is_e164(value):
        return str(value)
    raise DialoutError(
        "error_invalid_caller_id",
        'caller_id must be an E.164 number (e.g. +6511111111) or "private"',
        field="caller_id",
    )


def validate_tag(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise malformed("tag must be a string", "tag")
    if len(value) > TAG_MAX:
        raise DialoutError(
            "error_tag_invalid_length", f"tag must be {TAG_MAX} characters or less", field="tag"
        )
    return value


def validate_notify(value: object) -> str | None:
    try:
        return validate_url("notify_url", value)
    except DomainError as exc:
        raise DialoutError("error_invalid_notify_url", exc.message, field="notify_url") from None


def validate_ring_timeout(value: object) -> int:
    if value is None or value == "":
        return RING_TIMEOUT_DEFAULT
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 6:
        value = int(value.strip())  # a form field
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON Schema's integer: 30.0 is 30
    if isinstance(value, bool) or not isinstance(value, int):
        raise DialoutError(
            "error_invalid_timeout", "timeout must be a whole number of seconds", field="timeout"
        )
    if not 1 <= value <= RING_TIMEOUT_MAX:
        raise DialoutError(
            "error_invalid_timeout",
            f"timeout must be between 1 and {RING_TIMEOUT_MAX} seconds",
            field="timeout",
        )
    return value


def validate_dial_room(value: object) -> str | None:
    if value is None:
        return None
    try:
        return validate_room(value)
    except DomainError as exc:
        raise DialoutError("error_invalid_room", exc.message, field="room") from None


def parse_request(body: dict[str, Any]) -> DialoutRequest:
    """The request body (JSON object or form) -> DialoutRequest, checked in the seed's
    order; the first problem raises. `dest` and `destinations` are the same parameter."""
    for key in body:
        if key not in FIELDS:
            raise malformed(f"unknown parameter {key!r}", key)
    # null or "" is the same as leaving a spelling out: only two values are "both".
    given = [f for f in ("dest", "destinations") if body.get(f) not in (None, "")]
    if len(given) == 2:
        raise malformed("give dest or destinations, not both", "destinations")
    field = given[0] if given else "dest"
    return DialoutRequest(
        destinations=validate_destinations(body.get(field), field),
        room=validate_dial_room(body.get("room")),
        caller_id=validate_caller_id(body.get("caller_id")),
        tag=validate_tag(body.get("tag")),
        notify_url=validate_notify(body.get("notify_url")),
        timeout=validate_ring_timeout(body.get("timeout")),
        member_options=validate_dial_member_options(body.get("member_options")),
    )


def validate_dial_member_options(value: object) -> MemberOptions:
    """An object of per-member options (a JSON string of one in a form); null: none."""
    if value is None or value == "":
        return MemberOptions()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise malformed("member_options must be a JSON object", "member_options") from None
    if not isinstance(value, dict):
        raise malformed("member_options must be a JSON object", "member_options")
    try:
        return validate_member_options(MemberOptions(), value)
    except ValidationFailed as exc:
        raise DialoutError(
            "error_malformed_params", f"member_options.{exc.message}", field="member_options"
        ) from None


# --- who may call where, and how much -----------------------------------------------------


def parse_allow(text: str) -> dict[str, tuple[str, ...]]:
    """CONFSVC_DIALOUT_ALLOW: "tenant-a:+65|+1,tenant-b:+44" -> {tenant: prefixes}."""
    out: dict[str, tuple[str, ...]] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        tenant, _, prefixes = pair.partition(":")
        found = tuple(p.strip() for p in prefixes.split("|") if p.strip())
        if tenant.strip() and found:
            out[tenant.strip()] = out.get(tenant.strip(), ()) + found
    return out


def check_allowed(customer_id: str, destinations: tuple[str, ...], allow: str) -> None:
    """Toll-fraud guard: every number must start with one of the tenant's prefixes."""
    prefixes = parse_allow(allow).get(customer_id, ())
    for dest in destinations:
        if not any(dest.startswith(p) for p in prefixes):
            raise DialoutError(  # the seed's code for a destination it does not call
                "error_dest_not_supported",
                f"calls to {dest} are not supported for this account",
                field="dest",
                status=403,
            )


def check_caller_id(customer_id: str, caller_id: str, owned: frozenset[str]) -> None:
    """The seed's "your registered number, your Hoiio Number, or private": a number the
    tenant owns (CONFSVC_CALLER_IDS), "private", or none (the trunk's own)."""
    if caller_id in ("", PRIVATE) or caller_id in owned:
        return
    raise DialoutError(
        "error_invalid_caller_id",
        f'caller_id {caller_id} is not one of this account\'s numbers (or "private")',
        field="caller_id",
        status=403,
    )


def max_calls(customer_id: str, default: int, overrides: str) -> int:
    """The tenant's concurrent dial-out cap: CONFSVC_DIALOUT_TENANT_MAX_CALLS
    ("tenant-a:20,tenant-b:2") or CONFSVC_DIALOUT_MAX_CALLS."""
    for pair in filter(None, (p.strip() for p in overrides.split(","))):
        tenant, _, value = pair.partition(":")
        if tenant.strip() == customer_id and value.strip().isdigit():
            return int(value.strip())
    return default


def check_call_cap(active: int, new: int, cap: int) -> None:
    if active + new > cap:
        raise DialoutError(
            "error_concurrent_call_limit_reached",
            f"at most {cap} active calls per account: {active} active, {new} more asked",
            status=409,
        )


def check_room_capacity(occupied: int, new: int, capacity: int) -> None:
    """occupied: callers in the room plus dial-out calls to it not yet answered."""
    if occupied + new > capacity:
        raise DialoutError(
            "error_room_full",
            f"the room allows {capacity} participants: {occupied} in it or being called, "
            f"{new} more asked",
            field="room",
            status=409,
        )
