"""The aiohttp application: routes from the resource modules, the error and auth
middlewares, /health and the OpenAPI document.

Middleware order matters: errors is outermost so that what auth raises (401) and what
routing raises (404/405) both leave as the same JSON error shape."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from confsvc.api import calls, hoiio, recordings, schemas
from confsvc.api.auth import auth_middleware
from confsvc.api.calls import CallRoutes
from confsvc.api.conferencecalls import ConferencecallRoutes
from confsvc.api.conferences import ConferenceRoutes
from confsvc.api.errors import error_middleware
from confsvc.api.event_schemas import webhooks
from confsvc.api.events import EventRoutes
from confsvc.api.hoiio_auth import HoiioAuth, hoiio_errors
from confsvc.api.members import MemberRoutes
from confsvc.api.openapi import Route, build_openapi
from confsvc.api.plivo import PlivoRoutes
from confsvc.api.recordings import RecordingRoutes
from confsvc.api.transcribes import TranscribeRoutes
from confsvc.api.webhooks import WebhookRoutes
from confsvc.api.ws import WsRoutes
from confsvc.config import Settings
from confsvc.engine import Engine
from confsvc.events.derive import EVENT_TYPES
from confsvc.events.ws import Hub
from confsvc.hoiio_apps import parse_apps
from confsvc.plivo_accounts import parse_accounts
from confsvc.speech import Speech, SpeechConfig
from confsvc.store.base import Store

HEALTH_PATH = "/health"
OPENAPI_PATH = "/v1/openapi.json"
# Where Hoiio clients come (api/hoiio_auth.py): app_id + access_token, rate, error shape.
HOIIO_PATHS = (*hoiio.PATHS, calls.BASE, calls.CONF_CALLS, recordings.FILE)
# Request bodies are small (data is capped at 16 KiB); refuse big ones early with a 413.
CLIENT_MAX_SIZE = 256 * 1024


def create_app(
    settings: Settings,
    store: Store,
    engine: Engine,
    *,
    health: Callable[[], dict[str, Any]] | None = None,
    hub: Hub | None = None,
    extra_routes: Sequence[Route] = (),
    outer_middlewares: Sequence[Middleware] = (),
    media_node: Callable[[str], str | None] = lambda _id: None,
) -> web.Application:
    """`health` adds fields to GET /health (e.g. {"ari_connected": True}); it may also
    override "status" (e.g. "degraded"). `hub`: the WebSocket event hub (server.py starts
    and stops it); without one the app makes its own and runs it with the app.
    `extra_routes`, `outer_middlewares`: the operating parts' (/ready, /metrics, the
    access log; confsvc/ops). `media_node`: a conference's media node (confsvc/nodes)."""
    own_hub = hub is None
    if hub is None:
        hub = Hub(store, queue_size=settings.ws_queue_size)  # type: ignore[arg-type]
    ws_routes = WsRoutes(settings, store, hub)  # type: ignore[arg-type]

    async def get_health(_: web.Request) -> web.Response:
        body: dict[str, Any] = {"status": "ok"}
        if health is not None:
            body.update(health())
        return web.json_response(body)

    accounts = parse_accounts(settings.plivo_accounts)  # checked by `serve` before start
    speech = Speech(SpeechConfig(settings.asterisk_sounds_dir, settings.runtime_root))
    plivo = PlivoRoutes(store, engine, accounts, speech)  # its async calls end with the app
    routes: list[Route] = [
        *ConferenceRoutes(settings, store, engine, media_node).routes(),
        *ConferencecallRoutes(store, engine).routes(),
        *MemberRoutes(engine).routes(),
        *plivo.routes(),
        *RecordingRoutes(settings, store, engine).routes(),
        *TranscribeRoutes(settings, store, engine).routes(),  # issue 13
        *WebhookRoutes(settings, store, engine.outbound).routes(),  # type: ignore[arg-type]
        *CallRoutes(store, engine).routes(),  # dial-out (issue 8)
        *hoiio.HoiioRoutes(engine, speech).routes(),  # Hoiio paths, Record block (issue 19)
        *EventRoutes(ws_routes).routes(),
        *ws_routes.routes(),
        *extra_routes,
        Route(
            "GET",
            HEALTH_PATH,
            get_health,
            "health",
            "Liveness and dependency status",
            schemas.Health,
            public=True,
            tags=("service",),
        ),
    ]
    # The document describes itself too; built once, as the route list is fixed here.
    doc: dict[str, Any] = {}

    async def get_openapi(_: web.Request) -> web.Response:
        return web.json_response(doc)

    routes.append(
        Route(
            "GET",
            OPENAPI_PATH,
            get_openapi,
            "openapi",
            "This OpenAPI 3.1 document",
            None,
            public=True,
            tags=("service",),
        )
    )
    doc.update(build_openapi(routes, servers=[settings.base_url]))
    doc["webhooks"] = webhooks(EVENT_TYPES, doc["components"]["schemas"])

    public = [r.path for r in routes if r.public]
    apps = parse_apps(settings.hoiio_apps)  # checked by `serve` before start
    limited = [
        (r.method, r.path)
        for r in routes
        if r.path in hoiio.PATHS or (r.path in HOIIO_PATHS and r.method == "POST")
    ]
    hoiio_auth = HoiioAuth(apps, HOIIO_PATHS, limited, settings.hoiio_rate_limit)
    app = web.Application(
        middlewares=[
            *outer_middlewares,
            hoiio_errors(HOIIO_PATHS),
            error_middleware,
            auth_middleware(settings.token_map, public, accounts, hoiio_auth),
        ],
        client_max_size=CLIENT_MAX_SIZE,
    )
    for route in routes:
        app.router.add_route(route.method, route.path, route.handler, name=route.operation_id)
    app.on_shutdown.append(ws_routes.close_all)  # open WebSockets would delay the stop

    async def plivo_close(_: web.Application) -> None:
        await plivo.close()

    app.on_cleanup.append(plivo_close)
    if own_hub:

        async def hub_start(_: web.Application) -> None:
            await hub.start()

        async def hub_close(_: web.Application) -> None:
            await hub.close()

        app.on_startup.append(hub_start)
        app.on_cleanup.append(hub_close)
    return app
