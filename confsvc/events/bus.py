"""The one hook every state change's event goes through.

For now an event is only a structlog line whose event name is the kind (e.g.
`recording_started`), with the tenant and the resource's JSON. The events issue replaces
the body of `emit` (outbox, webhooks, WebSocket); callers keep calling it as they do."""

from __future__ import annotations

from typing import Any

import structlog

log = structlog.get_logger("confsvc.events")


def emit(kind: str, customer_id: str, data: dict[str, Any]) -> None:
    """Publish one event. Never raises: an event that cannot be published must not undo
    or interrupt the state change it reports (that is already stored)."""
    try:
        log.info(kind, customer_id=customer_id, data=data)
    except Exception:  # pragma: no cover - a broken log sink
        pass
