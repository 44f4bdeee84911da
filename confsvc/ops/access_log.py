"""One access log line per HTTP request (method, path template, status, ms, tenant; never
the token or the query string, which may carry it), with a request id bound into the
log context so every line logged while the request runs carries it too. The ids in the
path (conference, conferencecall, ...) are bound as <resource>_id."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware

from confsvc.api.auth import CUSTOMER_KEY
from confsvc.api.errors import Handler

log = structlog.get_logger("confsvc.access")

REQUEST_ID_HEADER = "X-Request-Id"
# Sent by a client or a proxy: kept when it looks like an id, else a new one is made.
_MAX_ID = 64

Observer = Callable[[str, str, int, float], None]  # operation id, method, status, seconds


def _request_id(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if 0 < len(given) <= _MAX_ID and all(c.isalnum() or c in "-_." for c in given):
        return given
    return uuid.uuid4().hex[:16]


def _context(request: web.Request) -> tuple[str, str, dict[str, str]]:
    """(path template, operation id, ids from the path) of the matched route."""
    match = request.match_info
    resource = match.route.resource if match.http_exception is None else None
    if resource is None:
        return "(unmatched)", "", {}
    template = resource.canonical
    ids: dict[str, str] = {}
    parts = template.split("/")
    if "id" in match and len(parts) > 2:  # /v1/conferences/{id} -> conference_id
        ids[f"{parts[2].removesuffix('s')}_id"] = match["id"]
    return template, match.route.name or "", ids


def access_log_middleware(observe: Observer | None = None) -> Middleware:
    """Outermost: it sees the status the error middleware chose."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.monotonic()
        request_id = _request_id(request)
        template, operation, ids = _context(request)
        status = 500
        with structlog.contextvars.bound_contextvars(request_id=request_id, **ids):
            try:
                response = await handler(request)
                status = response.status
                if not response.prepared:
                    response.headers[REQUEST_ID_HEADER] = request_id
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                took = time.monotonic() - started
                log.info(
                    "http request",
                    method=request.method,
                    path=template,
                    status=status,
                    ms=round(took * 1000, 1),
                    tenant=request.get(CUSTOMER_KEY),
                )
                if observe is not None:
                    observe(operation, request.method, status, took)

    return middleware
