"""Conference timeouts: one asyncio timer per conference, re-armed from the store on start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from confsvc.domain import now as utcnow


class Timers:
    def __init__(self, on_expire: Callable[[str], None]) -> None:
        self._on_expire = on_expire
        self._handles: dict[str, asyncio.TimerHandle] = {}

    def arm(self, conference_id: str, deadline: datetime | None) -> None:
        self.cancel(conference_id)
        if deadline is None:
            return
        delay = max(0.0, (deadline - utcnow()).total_seconds())
        loop = asyncio.get_running_loop()
        self._handles[conference_id] = loop.call_later(delay, self._fire, conference_id)

    def cancel(self, conference_id: str) -> None:
        handle = self._handles.pop(conference_id, None)
        if handle is not None:
            handle.cancel()

    def _fire(self, conference_id: str) -> None:
        self._handles.pop(conference_id, None)
        self._on_expire(conference_id)

    def close(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
