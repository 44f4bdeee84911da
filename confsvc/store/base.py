"""The repository interface the engine and API depend on. SQLite now, PostgreSQL later:
both implement `Store`; nothing outside confsvc.store imports a driver.

Contract shared by all implementations:
- Models in, models out (confsvc.domain); the store never applies domain rules except the
  one it alone can enforce atomically: a room is unique per customer among live
  (not terminated) conferences -> RoomTaken.
- Nothing is ever deleted: leaved calls and terminated conferences stay queryable.
- `transaction()` groups writes atomically. Inside `async with store.transaction():` the
  ordinary methods (save_*, get_*, list_*) of the same store join the transaction when
  called from the task that opened it; other tasks wait for it to finish (writes) or see
  only committed data (reads). An exception rolls everything back. Nested transaction()
  calls in the same task join the outer one.
- Listing is newest first (tm_create, then id, descending) with keyset pagination; the
  page token is opaque. A bad token raises ValidationFailed(field="page_token").
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from confsvc.domain.conference import Conference, ConferenceStatus
from confsvc.domain.conferencecall import Conferencecall, ConferencecallStatus

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


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

    async def get_conference(
        self, id: str, customer_id: str | None = None
    ) -> Conference | None:
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
