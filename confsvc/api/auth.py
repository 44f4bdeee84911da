"""Auth: `Authorization: Bearer <token>` or `?token=<token>` (the seed's curl examples use
the query form), or HTTP Basic `<auth_id>:<auth_token>` of a Plivo-style account (what
Plivo's SDKs send; plivo_accounts.py). Either names one tenant (customer_id); handlers read
it with `customer_of(request)` and scope every store read and engine command to it, and
`basic_auth_id(request)` says which Plivo account authenticated, if one did."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Collection, Mapping

from aiohttp import web
from aiohttp.typedefs import Middleware

from confsvc.api.errors import ApiError, Handler
from confsvc.api.hoiio_auth import HoiioAuth
from confsvc.plivo_accounts import PlivoAccount

CUSTOMER_KEY = web.RequestKey("confsvc.customer_id", str)
BASIC_KEY = web.RequestKey("confsvc.plivo_auth_id", str)


def customer_of(request: web.Request) -> str:
    try:
        return request[CUSTOMER_KEY]
    except KeyError:  # a route registered as public asked for a tenant: a bug, so a 500
        raise RuntimeError("no authenticated customer on this request") from None


def basic_auth_id(request: web.Request) -> str | None:
    """The Plivo auth_id the request authenticated with (HTTP Basic), else None."""
    return request.get(BASIC_KEY)


def token_from(request: web.Request) -> str | None:
    """The presented Bearer token; the header wins when both are given. ApiError 401 when
    the Authorization header is present but is neither Bearer nor Basic (Basic: None)."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() == "basic":
            return None
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError.unauthorized(
                "Authorization header must be 'Bearer <token>' or Basic auth_id:auth_token"
            )
        return token.strip()
    token = request.query.get("token")
    return token or None


def basic_from(request: web.Request) -> tuple[str, str] | None:
    """(auth_id, auth_token) of an `Authorization: Basic` header, else None."""
    scheme, _, encoded = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError.unauthorized("Basic credentials are not base64 auth_id:auth_token") from None
    auth_id, sep, auth_token = decoded.partition(":")
    if not sep:
        raise ApiError.unauthorized("Basic credentials are not base64 auth_id:auth_token")
    return auth_id, auth_token


def account_for(
    accounts: Mapping[str, PlivoAccount], auth_id: str, auth_token: str
) -> PlivoAccount | None:
    """The account when the token is right (compared in constant time)."""
    account = accounts.get(auth_id)
    presented = auth_token.encode("utf-8", "surrogatepass")
    expected = account.auth_token.encode() if account is not None else b"\0" * len(presented)
    if hmac.compare_digest(expected, presented) and account is not None:
        return account
    return None


def lookup(token_map: Mapping[str, str], token: str) -> str | None:
    """customer_id for the token. compare_digest over every entry: the time taken does not
    tell an attacker how much of a guess was right."""
    found: str | None = None
    presented = token.encode("utf-8", "surrogatepass")  # odd header bytes: 401, not 500
    for known, customer in token_map.items():
        if hmac.compare_digest(known.encode(), presented):
            found = customer
    return found


def auth_middleware(
    token_map: Mapping[str, str],
    public_paths: Collection[str],
    plivo_accounts: Mapping[str, PlivoAccount] | None = None,
    hoiio: HoiioAuth | None = None,
) -> Middleware:
    """`public_paths`: canonical route paths served without a token (/health, the OpenAPI
    document). Unmatched routes (404/405) are answered as such without asking for a token:
    that says nothing about any tenant's data. `hoiio`: the Hoiio-shaped paths also take
    app_id + access_token, and are rate limited per tenant (api/hoiio_auth.py)."""
    public = frozenset(public_paths)
    accounts = plivo_accounts or {}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        match = request.match_info
        if match.http_exception is not None or match.route.resource is None:
            return await handler(request)
        canonical = match.route.resource.canonical
        if canonical in public:
            return await handler(request)
        if hoiio is not None and hoiio.applies(request, canonical):
            request[CUSTOMER_KEY] = await hoiio.customer(request)
        else:
            await _tenant(request)
        if hoiio is not None:
            hoiio.check_rate(request.method, canonical, request[CUSTOMER_KEY])
        return await handler(request)

    async def _tenant(request: web.Request) -> None:
        """Bearer token or Plivo Basic credentials -> request[CUSTOMER_KEY]."""
        basic = basic_from(request)
        if basic is not None:
            account = account_for(accounts, *basic)
            if account is None:
                raise ApiError.unauthorized("invalid auth_id or auth_token")
            request[CUSTOMER_KEY] = account.customer_id
            request[BASIC_KEY] = account.auth_id
            return
        token = token_from(request)
        if token is None:
            raise ApiError.unauthorized("missing token: send 'Authorization: Bearer <token>'")
        customer = lookup(token_map, token)
        if customer is None:
            raise ApiError.unauthorized("invalid token")
        request[CUSTOMER_KEY] = customer

    return middleware
