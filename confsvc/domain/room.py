"""Room names (the Hoiio rule): a-z A-Z 0-9 '.' '_', 1 to 32 characters, and not only
dots ('.', '..' read as paths in URLs, logs and files; Plivo's routes put the room in one).

The room is the SIP user part callers dial (sip:<room>@host), so the charset also keeps it
safe in a SIP URI and an Asterisk dialplan without escaping. Names are case-sensitive (SIP
user parts are). Uniqueness per customer among live conferences is the store's job."""

from __future__ import annotations

import re
import secrets
import string

from confsvc.domain.errors import ValidationFailed

ROOM_MAX_LEN = 32
GENERATED_ROOM_LEN = 10
_ROOM_RE = re.compile(rf"[A-Za-z0-9._]{{1,{ROOM_MAX_LEN}}}")
# Extensions of asterisk/conf/extensions.conf that take precedence over the room pattern:
# a room with one of these names could never be dialled.
RESERVED_ROOMS = frozenset({"h", "echo"})
# The whole rule as one JSON Schema pattern (with maxLength): at least one non-dot, not a
# reserved name.
ROOM_PATTERN = r"^(?!(?:h|echo)$)[A-Za-z0-9._]*[A-Za-z0-9_][A-Za-z0-9._]*$"
_GEN_ALPHABET = string.ascii_lowercase + string.digits


def is_valid_room(room: object) -> bool:
    # fullmatch, not match + "$": "$" would also accept a trailing newline.
    return (
        isinstance(room, str)
        and _ROOM_RE.fullmatch(room) is not None
        and room.strip(".") != ""
        and room not in RESERVED_ROOMS
    )


def validate_room(room: object) -> str:
    """Return the room unchanged, or raise ValidationFailed(field="room")."""
    if not isinstance(room, str):
        raise ValidationFailed("room", "must be a string")
    if room == "":
        raise ValidationFailed("room", "must not be empty")
    if len(room) > ROOM_MAX_LEN:
        raise ValidationFailed("room", f"must be at most {ROOM_MAX_LEN} characters")
    if _ROOM_RE.fullmatch(room) is None:
        raise ValidationFailed("room", "allowed characters are a-z A-Z 0-9 . _")
    if room in RESERVED_ROOMS:
        raise ValidationFailed("room", f"{room!r} is reserved (a dial plan extension)")
    if not is_valid_room(room):
        raise ValidationFailed("room", "must not be only dots")
    return room


def generate_room(length: int = GENERATED_ROOM_LEN) -> str:
    """A random valid room: lowercase letters and digits (easy to read out and to type on a
    softphone). 36^10 names make a collision unlikely; the store still refuses one."""
    if not 1 <= length <= ROOM_MAX_LEN:
        raise ValueError(f"length must be 1..{ROOM_MAX_LEN}")
    return "".join(secrets.choice(_GEN_ALPHABET) for _ in range(length))
