"""Events of state changes (webhooks and WebSocket fan-out arrive with the events issue)."""

from confsvc.events.bus import emit

__all__ = ["emit"]
