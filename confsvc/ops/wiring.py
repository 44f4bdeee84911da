"""What server.py calls to add the operating parts: the instrumented ARI event handler
and connect hook, the scrape-time view of live things, and the /ready and /metrics routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp.typedefs import Middleware

from confsvc.api.openapi import Route
from confsvc.ari.models import Event as AriEvent
from confsvc.config import Settings
from confsvc.engine import Engine
from confsvc.events.outbox import Outbox
from confsvc.ops.access_log import access_log_middleware
from confsvc.ops.console import Console
from confsvc.ops.metrics import Live, Metrics
from confsvc.ops.metrics_route import MetricsRoute
from confsvc.ops.readiness import ReadinessCheck
from confsvc.store.base import EventStore

EventHandler = Callable[[AriEvent], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]


def timed_handler(metrics: Metrics, handle: EventHandler) -> EventHandler:
    """The ARI event handler, recording how far behind Asterisk's timestamp it runs."""

    async def handler(event: AriEvent) -> None:
        metrics.ari_event(event.timestamp, datetime.now(UTC))
        await handle(event)

    return handler


def counted_connect(metrics: Metrics, on_connect: Hook) -> Hook:
    async def hook() -> None:
        metrics.ari_connects.inc()
        await on_connect()

    return hook


def middlewares(metrics: Metrics) -> list[Middleware]:
    return [access_log_middleware(metrics.http_request)]


def attach(
    metrics: Metrics,
    settings: Settings,
    store: EventStore,
    engine: Engine,
    outbox: Outbox,
    ari_connected: Callable[[], bool],
) -> list[Route]:
    """Start counting stored events, expose the live gauges; the routes to serve."""
    store.add_event_listener(metrics.events_stored)
    queues = outbox.queues
    metrics.watch(
        Live(
            conferences=engine.rooms.live_conferences,
            calls=engine.rooms.live_calls,
            outbox_depth=lambda: (queues.waiting, queues.in_flight),
            ari_connected=ari_connected,
        )
    )
    return [
        *ReadinessCheck(store, ari_connected).routes(),
        *MetricsRoute(metrics, settings.metrics_token).routes(),
        *Console().routes(),
    ]
