"""Tenant webhook subscriptions: validation and construction (pure)."""

from __future__ import annotations

from datetime import datetime

from confsvc.domain import ValidationFailed, new_id
from confsvc.domain.hooks import validate_url
from confsvc.events.derive import EVENT_TYPES
from confsvc.events.model import Webhook

MAX_WEBHOOKS = 20  # per tenant


def validate_event_types(value: object) -> tuple[str, ...]:
    """A list of known event types, no duplicates; empty (or omitted) = every type."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ValidationFailed("event_types", "must be a list of event types")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or item not in EVENT_TYPES:
            raise ValidationFailed(
                "event_types", f"unknown event type {item!r}; known: {', '.join(EVENT_TYPES)}"
            )
        if item not in out:
            out.append(item)
    return tuple(out)


def new_webhook(*, customer_id: str, url: object, event_types: object, now: datetime) -> Webhook:
    checked = validate_url("url", url)
    if checked is None:
        raise ValidationFailed("url", "is required")
    return Webhook(
        id=new_id(),
        customer_id=customer_id,
        url=checked,
        event_types=validate_event_types(event_types),
        tm_create=now,
    )
