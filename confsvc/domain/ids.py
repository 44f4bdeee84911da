"""Identifiers and time: uuid4 ids, aware-UTC clock, and the one ISO 8601 text form used
both in API JSON and in the store (fixed width, so text order == time order)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

# Fixed-width UTC form, e.g. 2024-05-01T12:00:00.000000Z. Fixed width matters: the store
# compares these as text for ordering and keyset pagination.


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    """The real clock. Domain transitions take `now` as an argument instead of calling this,
    so tests pass fixed instants."""
    return datetime.now(UTC)


def ensure_utc(dt: datetime) -> datetime:
    """Refuse naive datetimes (ambiguous) and normalise aware ones to UTC."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("naive datetime: pass an aware (UTC) datetime")
    return dt.astimezone(UTC)


def to_iso(dt: datetime | None) -> str | None:
    """Fixed-width ISO 8601 UTC with microseconds and Z (text order is time order)."""
    if dt is None:
        return None
    if dt.tzinfo is not UTC:
        dt = ensure_utc(dt)
    # isoformat is C code, twice as fast as strftime; "+00:00" becomes "Z".
    return dt.isoformat(timespec="microseconds")[:-6] + "Z"


def from_iso(text: str | None) -> datetime | None:
    if text is None or text == "":
        return None
    return ensure_utc(datetime.fromisoformat(text))
