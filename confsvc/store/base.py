"""The repository interface the engine and API depend on. SQLite now, PostgreSQL later:
both implement `Store`; nothing outside confsvc.store imports a driver.

Contract shared by all implementations:
- Models in, models out (confsvc.domain); the store never applies domain rules except the
  one it alone can enforce atomically: a room is unique among live (not terminated)
  conferences, across tenants (dial-in names no tenant) -> RoomTaken (room_in_use).
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
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from confsvc.domain.conference import Conference, ConferenceStatus
from confsvc.domain.conferencecall import Conferencecall, ConferencecallStatus
from confsvc.domain.errors import ValidationFailed
from confsvc.domain.ids import from_iso
from confsvc.domain.recording import Recording
from confsvc.domain.transcribe import Transcribe, Transcript
from confsvc.events.model import Delivery, Event, Webhook

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


class _Unknown:
    """`old` not given to a save: the store reads the stored version itself."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


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
        """Insert a new conference. RoomTaken if a live one (of any tenant) has the room."""
        ...

    async def save_conference(self, conf: Conference, old: Any = UNKNOWN) -> None:
        """Insert or replace by id (upsert). old: the version it replaces (None: new), when
        the caller knows it; the events of the change are derived from (old, conf)."""
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

    async def save_conferencecall(
        self, call: Conferencecall, old: Any = UNKNOWN, conference: Conference | None = None
    ) -> None:
        """Insert or replace by id (upsert). old as for save_conference; conference: the
        call's conference as it stands (routes the events), when the caller knows it."""
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

    # --- transcribes (issue 13) -------------------------------------------------------

    async def save_transcribe(self, tx: Transcribe) -> None:
        """Insert or replace by id (upsert); no resource events (see sqlite_transcribes)."""
        ...

    async def get_transcribe(self, id: str, customer_id: str | None = None) -> Transcribe | None:
        """None when missing or owned by another customer (when customer_id is given)."""
        ...

    async def list_transcribes(
        self,
        customer_id: str,
        *,
        conference_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Transcribe], str | None]: ...

    async def list_active_transcribes(self) -> list[Transcribe]:
        """All tenants, status progressing, oldest first (reconciliation)."""
        ...

    async def delete_transcribe(self, id: str) -> None:
        """The transcribe and its transcripts (no-op when missing)."""
        ...

    async def add_transcript(self, seg: Transcript) -> None: ...

    async def list_transcripts(
        self,
        customer_id: str,
        transcribe_id: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Transcript], str | None]: ...


class DeliveryListener(Protocol):
    """Told by the store after each commit (the webhook deliverer: events/outbox.py)."""

    def deliveries_added(self, deliveries: Sequence[Delivery]) -> None:
        """The deliveries one transaction added (seq set), in order; never on rollback."""
        ...

    def webhook_deleted(self, webhook_id: str) -> None:
        """The webhook is gone and its pending deliveries are cancelled."""
        ...


@runtime_checkable
class EventStore(Store, Protocol):
    """The event stream's part of a store (SQLite: sqlite_events.py, sqlite_webhooks.py).

    - `append_event` joins the caller's transaction: an event commits with its change.
      `seq` counts the tenant's events in commit order (1, 2, 3...; the only seq a
      client sees), `store_seq` every tenant's (internal); after a commit that appended
      events, listeners (add_event_listener) are handed them, in commit order.
    - The outbox: `add_delivery` joins the caller's transaction like `append_event`;
      delivery listeners get the added rows after the commit (add_delivery_listener);
      `pending_deliveries` is read once when the deliverer starts; `save_attempts`
      records a batch of attempts in one transaction.
    - With `journal` set, save_conference/save_conferencecall/save_recording and
      create_conference read the stored version and call journal.changed(store, old,
      new) in the same transaction (confsvc/events/journal.py)."""

    def after_commit(self, fn: Callable[[], None]) -> None: ...

    def add_event_listener(self, fn: Callable[[Sequence[Event]], None]) -> None: ...

    def remove_event_listener(self, fn: Callable[[Sequence[Event]], None]) -> None: ...

    async def append_event(self, event: Event) -> int: ...

    async def events_after(self, store_seq: int, limit: int = ...) -> list[Event]: ...

    async def list_events(
        self,
        customer_id: str,
        *,
        after: int = 0,
        conference_id: str | None = None,
        limit: int = 100,
    ) -> list[Event]: ...

    async def event_seq(self, customer_id: str, event_id: str) -> int | None: ...

    def iter_events(
        self, customer_id: str, *, after: int = 0, conference_id: str | None = None
    ) -> AsyncIterator[Event]: ...

    async def create_webhook(self, hook: Webhook) -> None: ...

    async def get_webhook(self, id: str, customer_id: str | None = None) -> Webhook | None: ...

    async def webhooks_of(self, customer_id: str) -> list[Webhook]: ...

    async def delete_webhook(self, id: str, now: datetime) -> None: ...

    async def get_webhook_secret(self, customer_id: str) -> str | None: ...

    async def set_webhook_secret(
        self, customer_id: str, secret: str, now: datetime, *, replace: bool = True
    ) -> str: ...

    async def list_webhooks(
        self,
        customer_id: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Webhook], str | None]: ...

    async def add_delivery(self, d: Delivery) -> None: ...

    async def add_deliveries(self, ds: Sequence[Delivery]) -> None: ...

    def add_delivery_listener(self, listener: DeliveryListener) -> None: ...

    def remove_delivery_listener(self, listener: DeliveryListener) -> None: ...

    def pending_deliveries(self) -> AsyncIterator[list[Delivery]]: ...

    async def get_delivery(self, id: str) -> Delivery | None: ...

    async def save_attempts(self, deliveries: Sequence[Delivery], now: datetime) -> None: ...

    async def list_deliveries(
        self,
        webhook_id: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Delivery], str | None]: ...
