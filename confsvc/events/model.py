"""The event stream's records: events, tenant webhook subscriptions, deliveries (plain data).

An event is stored with the state change it reports (same transaction). `seq` counts the
tenant's events (1, 2, 3... in commit order), `store_seq` every tenant's (internal, never
sent: it would show how busy the other tenants are), `id` is the public uuid."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confsvc.domain.ids import to_iso


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: str
    customer_id: str
    conference_id: str
    resource_id: str
    timestamp: datetime
    data: dict[str, Any]
    seq: int = 0  # assigned by the store: the tenant's
    store_seq: int = 0  # assigned by the store: across tenants (read back, not on append)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "type": self.type,
            "customer_id": self.customer_id,
            "conference_id": self.conference_id,
            "timestamp": to_iso(self.timestamp),
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class Webhook:
    """A tenant's subscription: every event of the tenant whose type is in event_types
    (empty = all) is POSTed (JSON) to url."""

    id: str
    customer_id: str
    url: str
    event_types: tuple[str, ...]
    tm_create: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "url": self.url,
            "event_types": list(self.event_types),
            "tm_create": to_iso(self.tm_create),
        }


# Delivery kinds: a tenant webhook, a conference's notify_url, its callback_url.
WEBHOOK, NOTIFY, CALLBACK = "webhook", "notify", "callback"
# Delivery statuses.
PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to one receiver: a row of the durable outbox. `target` + `order_key`
    (the conference) form the ordering group: one delivery of a group is in flight at a
    time, oldest first, and a failing one blocks the later ones until it succeeds or is
    given up. `body` is exactly what is sent and signed: the POST body, or for GET the
    query string."""

    id: str
    customer_id: str
    kind: str
    target: str
    order_key: str
    event_seq: int
    event_id: str
    event_type: str
    url: str
    method: str
    content_type: str
    body: str
    tm_create: datetime
    webhook_id: str | None = None
    status: str = PENDING
    attempts: int = 0
    next_at: float = 0.0  # epoch seconds of the next attempt
    first_attempt_at: float | None = None
    last_attempt_at: float | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    tm_update: datetime | None = None
    seq: int = field(default=0)  # assigned by the store

    @property
    def group(self) -> tuple[str, str]:
        return self.target, self.order_key

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webhook_id": self.webhook_id,
            "kind": self.kind,
            "event_id": self.event_id,
            "event_seq": self.event_seq,
            "event_type": self.event_type,
            "url": self.url,
            "method": self.method,
            "status": self.status,
            "attempts": self.attempts,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "next_attempt_at": _epoch_iso(self.next_at) if self.status == PENDING else None,
            "tm_create": to_iso(self.tm_create),
            "tm_update": to_iso(self.tm_update),
        }


def _epoch_iso(ts: float) -> str | None:
    return to_iso(datetime.fromtimestamp(ts, UTC))
