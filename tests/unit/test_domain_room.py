"""Room names: the Hoiio rule (a-z A-Z 0-9 . _, 1-32 chars, not only dots) and generation."""

from __future__ import annotations

import re

import pytest

from confsvc.domain.errors import ValidationFailed
from confsvc.domain.ids import from_iso, new_id, now, to_iso
from confsvc.domain.room import (
    ROOM_MAX_LEN,
    ROOM_PATTERN,
    generate_room,
    is_valid_room,
    validate_room,
)


@pytest.mark.parametrize(
    "room",
    ["a", "A", "0", "_", "._.", "..a", "a..", "Sales.Team_1", "r" * 32, "abcXYZ019._"],
)
def test_valid_rooms(room: str) -> None:
    assert is_valid_room(room)
    assert validate_room(room) == room


@pytest.mark.parametrize(
    "room",
    [
        "",
        "r" * 33,
        "has space",
        "dash-ed",
        "at@host",
        "semi;colon",
        "slash/",
        "percent%20",
        "ünicode",
        "room\n",
        "\nroom",
        "tab\t",
        "\uff11\uff12\uff13",  # full-width digits: not ASCII 0-9
        "\x00",
        "room\x00",
        # Only dots (issue 11): read as paths in URLs (Plivo's routes), logs and files.
        ".",
        "..",
        "." * 32,
    ],
)
def test_invalid_rooms(room: str) -> None:
    assert not is_valid_room(room)
    with pytest.raises(ValidationFailed) as exc:
        validate_room(room)
    assert exc.value.field == "room" and exc.value.code == "invalid_field"


@pytest.mark.parametrize("room", [None, 123, b"room"])
def test_non_string_rooms(room: object) -> None:
    assert not is_valid_room(room)
    with pytest.raises(ValidationFailed):
        validate_room(room)


def test_length_boundary_messages() -> None:
    validate_room("x" * ROOM_MAX_LEN)
    with pytest.raises(ValidationFailed, match="at most 32"):
        validate_room("x" * (ROOM_MAX_LEN + 1))
    with pytest.raises(ValidationFailed, match="empty"):
        validate_room("")


def test_generate_room() -> None:
    rooms = {generate_room() for _ in range(200)}
    assert len(rooms) == 200
    for r in rooms:
        assert is_valid_room(r) and len(r) == 10 and r == r.lower()
    assert len(generate_room(32)) == 32
    with pytest.raises(ValueError):
        generate_room(33)


def test_ids_and_iso_round_trip() -> None:
    assert new_id() != new_id()
    t = now()
    assert t.tzinfo is not None
    text = to_iso(t)
    assert text is not None and text.endswith("Z") and len(text) == 27
    assert from_iso(text) == t
    assert to_iso(None) is None and from_iso(None) is None


@pytest.mark.parametrize("room", ["h", "echo"])
def test_dial_plan_extensions_are_reserved(room: str) -> None:
    assert not is_valid_room(room)
    with pytest.raises(ValidationFailed, match="reserved"):
        validate_room(room)
    assert re.fullmatch(ROOM_PATTERN, room) is None
    assert re.fullmatch(ROOM_PATTERN, room + "x") is not None
