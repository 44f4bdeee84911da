"""The repository interface the engine and API depend on. SQLite now, PostgreSQL later:
both implement `Store`; nothing outside confsvc.store imports a driver.

Contract shared by all implementations:
- Models in, models out (confsvc.domain); the store never applies domain rules except the
  one it alone can enforce atomically: a room is unique per customer among live
  (not terminated) conferences -> RoomTaken.
- Nothing is ever deleted: leaved calls and terminated conferences stay queryable. The one
  exception is a recording, which its owner may delete (DELETE /v1/recordings/{id}).
- `transaction()` groups writes atomically. Inside `async with store.transaction():` the
  ordinary methods (save_*, get_*, list_*) of the same store join the transaction when
  called from the task that opened it; other tasks wait for it to finish (writes) or see
  only committed data (reads). An exception rolls everything back. Nested transaction()
  calls in the same task join the outer one.
- Listing is newest first (tm_create, then id, descending) with keyset pagination; the
  page token is opaque. A bad token raises ValidationFailed(field="page_token").
"""

from __future__ import annotations

import base64
import json
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from confsvc.domain.conference import Conference, ConferenceStatus
from confsvc.domain.conferencecall import Conferencecall, ConferencecallStatus
from confsvc.domain.errors import ValidationFailed
from confsvc.domain.ids import from_iso
from confsvc.domain.recording import Recording

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


# --- paging helpers shared by implementations (the token format is part of the API) -----


def encode_page_token(tm_create: str, id: str) -> str:
    """Opaque keyset cursor: base64url of [tm_create ISO text, id] of the page's last row."""
    raw = json.dumps([tm_create, id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        tm, id_ = json.loads(raw)
        if isinstance(tm, str) and isinstance(id_, str) and from_iso(tm) is not None:
            return tm, id_
    except (ValueError, TypeError, RecursionError):  # binascii/Unicode/JSON errors are ValueErrors
        pass
    raise ValidationFailed("page_token", "invalid page token")


def check_page_size(page_size: object) -> int:
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise ValidationFailed("page_size", "must be an integer")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationFailed("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    return page_size


@runtime_checkable
class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[Store]: ...

    # --- conferences -----------------------------------------------------------------

    async def create_conference(self, conf: Conference) -> None:
        """Insert a new conference. RoomTaken if a live one of the customer has the room."""
        ...

    async def save_conference(self, conf: Conference) -> None:
        """Insert or replace by id (upsert)."""
        ...

    async def get_conference(self, id: str, customer_id: str | None = None) -> Conference | None:
        """None when missing or owned by another customer (when customer_id is given)."""
        ...

    async def get_conference_by_room(self, customer_id: str, room: str) -> Conference | None:
        """The customer's live conference with this room, if any."""
        ...

    async def find_live_conference_by_room(self, room: str) -> list[Conference]:
        """Dial-in has no tenant: every live conference with this room, oldest first."""
        ...

    async def list_conferences(
        self,
        customer_id: str,
        *,
        status: ConferenceStatus | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Conference], str | None]: ...

    async def list_live_conferences(self) -> list[Conference]:
        """All tenants, not terminated, oldest first (reconciliation, timers)."""
        ...

    # --- conferencecalls -------------------------------------------------------------

    async def save_conferencecall(self, call: Conferencecall) -> None:
        """Insert or replace by id (upsert)."""
        ...

    async def get_conferencecall(
        self, id: str, customer_id: str | None = None
    ) -> Conferencecall | None: ...

    async def list_conferencecalls(
        self,
        customer_id: str,
        *,
        conference_id: str | None = None,
        status: ConferencecallStatus | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Conferencecall], str | None]: ...

    async def list_live_conferencecalls(
        self, conference_id: str | None = None
    ) -> list[Conferencecall]:
        """Not leaved, oldest first (join order)."""
        ...

    # --- recordings ------------------------------------------------------------------

    async def save_recording(self, rec: Recording) -> None:
        """Insert or replace by id (upsert)."""
        ...

    async def get_recording(self, id: str, customer_id: str | None = None) -> Recording | None:
        """None when missing or owned by another customer (when customer_id is given)."""
        ...

    async def list_recordings(
        self,
        customer_id: str,
        *,
        conference_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Recording], str | None]: ...

    async def delete_recording(self, id: str) -> None:
        """Remove the row (no-op when missing)."""
        ...

    async def list_active_recordings(self) -> list[Recording]:
        """All tenants, status recording, oldest first (reconciliation)."""
        ...
