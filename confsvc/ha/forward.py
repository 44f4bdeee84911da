"""A standby controller answers HTTP by forwarding to the ARI owner.

Why forwarding rather than a command row + NOTIFY: since issue 12 the live conferences and
calls are in the owner's memory (engine/rooms.py) and the store is written behind it, so
only the owner can answer a command (or a read of live state) the way it answers today.
Forwarding the whole request gives the caller exactly the owner's status, body and error
code, for every route, with nothing to translate; a command row would need a second
encoding of every command and of every answer.

Served by the standby itself: /health (its own role), the WebSocket /v1/ws (its hub hears
every controller's events through LISTEN/NOTIFY) and the OpenAPI document. The token is
checked here too (the auth middleware runs first; both controllers share CONFSVC_TOKENS).
No owner (between a kill and the takeover) or an owner that does not answer: 503
asterisk_unavailable, as for an Asterisk that is away."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
import structlog
from aiohttp import web

from confsvc.api.errors import ApiError

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LOCAL_PATHS = frozenset({"/health", "/v1/ws", "/v1/openapi.json"})
# Not passed on: hop-by-hop headers, and what aiohttp sets itself.
_DROP = frozenset(
    {"host", "connection", "keep-alive", "transfer-encoding", "te", "upgrade",
     "content-length", "proxy-authorization", "proxy-connection", "trailer"}
)  # fmt: skip
TIMEOUT = aiohttp.ClientTimeout(total=30)


class Forwarder:
    """aiohttp middleware: while this controller does not own ARI, requests go to the one
    that does. `is_owner` and `owner_url` come from ha/ownership.py; `is_ready`: the owner
    has connected to ARI and reconciled once (its memory holds the live rooms): until then
    a new owner answers 503, as nobody else can answer for it."""

    def __init__(
        self,
        is_owner: Callable[[], bool],
        is_ready: Callable[[], bool],
        owner_url: Callable[[], Awaitable[str | None]],
    ) -> None:
        self._is_owner = is_owner
        self._is_ready = is_ready
        self._owner_url = owner_url
        self._http: aiohttp.ClientSession | None = None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in LOCAL_PATHS:
            return await handler(request)
        if not self._is_owner():
            return await self._forward(request)
        if not self._is_ready():
            raise _unavailable("taking over the ARI application: reconciling with Asterisk")
        return await handler(request)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        try:
            owner = await self._owner_url()
        except Exception as exc:  # the database is away: nobody can be asked
            log.warning("owner lookup failed", error=str(exc))
            owner = None
        if owner is None:
            raise _unavailable("no controller owns the ARI application at the moment")
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=TIMEOUT, auto_decompress=False)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP}
        body = await request.read()
        try:
            async with self._http.request(
                request.method, owner.rstrip("/") + request.path_qs,
                headers=headers, data=body or None, allow_redirects=False,
            ) as answer:  # fmt: skip
                payload = await answer.read()
                out = web.Response(status=answer.status, body=payload)
                for key, value in answer.headers.items():
                    if key.lower() not in _DROP and key.lower() not in ("date", "server"):
                        out.headers.add(key, value)
                return out
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("owner did not answer", owner=owner, error=str(exc))
            raise _unavailable(
                "the controller that owns the ARI application did not answer"
            ) from None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


def _unavailable(message: str) -> ApiError:
    return ApiError(503, "asterisk_unavailable", message, headers={"Retry-After": "1"})
