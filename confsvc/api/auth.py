"""Bearer-token auth: `Authorization: Bearer <token>` or `?token=<token>` (the seed's curl
examples use the query form). A token names one tenant (customer_id); handlers read it with
`customer_of(request)` and scope every store read and engine command to it."""

from __future__ import annotations

import hmac
from collections.abc import Collection, Mapping

from aiohttp import web
from aiohttp.typedefs import Middleware

from confsvc.api.errors import ApiError, Handler

CUSTOMER_KEY = web.RequestKey("confsvc.customer_id", str)


def customer_of(request: web.Request) -> str:
    try:
        return request[CUSTOMER_KEY]
    except KeyError:  # a route registered as public asked for a tenant: a bug, so a 500
        raise RuntimeError("no authenticated customer on this request") from None


def token_from(request: web.Request) -> str | None:
    """The presented token; the header wins when both are given. ApiError 401 when the
    Authorization header is present but is not a Bearer token."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError.unauthorized("Authorization header must be 'Bearer <token>'")
        return token.strip()
    token = request.query.get("token")
    return token or None


def lookup(token_map: Mapping[str, str], token: str) -> str | None:
    """customer_id for the token. compare_digest over every entry: the time taken does not
    tell an attacker how much of a guess was right."""
    found: str | None = None
    presented = token.encode("utf-8", "surrogatepass")  # odd header bytes: 401, not 500
    for known, customer in token_map.items():
        if hmac.compare_digest(known.encode(), presented):
            found = customer
    return found


def auth_middleware(token_map: Mapping[str, str], public_paths: Collection[str]) -> Middleware:
    """`public_paths`: canonical route paths served without a token (/health, the OpenAPI
    document). Unmatched routes (404/405) are answered as such without asking for a token:
    that says nothing about any tenant's data."""
    public = frozenset(public_paths)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        match = request.match_info
        if match.http_exception is not None or match.route.resource is None:
            return await handler(request)
        if match.route.resource.canonical in public:
            return await handler(request)
        token = token_from(request)
        if token is None:
            raise ApiError.unauthorized("missing token: send 'Authorization: Bearer <token>'")
        customer = lookup(token_map, token)
        if customer is None:
            raise ApiError.unauthorized("invalid token")
        request[CUSTOMER_KEY] = customer
        return await handler(request)

    return middleware
