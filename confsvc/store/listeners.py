"""Who the store tells after a commit (the WebSocket hub, the webhook deliverer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger(__name__)

L = TypeVar("L")


class Listeners(Generic[L]):
    def __init__(self) -> None:
        self._items: list[L] = []

    def add(self, listener: L) -> None:
        self._items.append(listener)

    def remove(self, listener: L) -> None:
        if listener in self._items:
            self._items.remove(listener)

    def tell(self, call: Callable[[L], object]) -> None:
        """call(listener) for each: one's exception is logged, and must not break the
        writer that has just committed, nor keep the others from hearing it."""
        for listener in list(self._items):
            try:
                call(listener)
            except Exception:
                log.exception("store listener failed")
