"""What makes a route Hoiio-shaped (seeds 000 and 002): its clients send `app_id` and
`access_token` as query or form fields, are held to a per-tenant request rate, and read
the result code from `status`.

- Authentication (auth.py calls `customer`): on a Hoiio path a request without a Bearer
  token or Basic credentials names its application with app_id + access_token (query
  first, else the form or JSON body). Missing: 401 error_app_id_param_missing /
  error_access_token_param_missing; unknown app: 401 error_invalid_app_id; wrong token:
  401 error_invalid_access_token (confsvc/hoiio_apps.py).
- Rate: CONFSVC_HOIIO_RATE_LIMIT requests a minute per tenant to the Hoiio operations
  (placing calls, the Record block; not listings or downloads), however the request
  authenticated: beyond it 429 error_rate_limit_exceeded with Retry-After.
- Errors (`hoiio_errors`, outside errors.py's middleware): every error answer on these
  paths also carries `"status": <code>` (what Hoiio clients read), a 405 is
  error_invalid_http_method and a 500 error_internal_server_error."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping

from aiohttp import web
from aiohttp.typedefs import Middleware

from confsvc.api.bodies import FORM, JSON, parse_form, parse_json_object
from confsvc.api.errors import ApiError, Handler
from confsvc.hoiio_apps import BadAccessToken, BadAppId, HoiioApp, RateLimiter, authenticate

AUTH_FIELDS = ("app_id", "access_token")
# Codes Hoiio clients know in place of confsvc's generic ones.
_CODES = {405: "error_invalid_http_method", 500: "error_internal_server_error"}


def _unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


def without_auth_fields(body: dict[str, object]) -> dict[str, object]:
    """The request's own parameters (what the handlers validate)."""
    return {k: v for k, v in body.items() if k not in AUTH_FIELDS}


class HoiioAuth:
    def __init__(
        self,
        apps: Mapping[str, HoiioApp],
        paths: Collection[str],
        limited: Collection[tuple[str, str]],
        per_minute: int,
    ) -> None:
        """paths: where app_id + access_token authenticate; limited: the (method, path)
        pairs the rate limit counts."""
        self.apps = apps
        self.paths = frozenset(paths)
        self.limited = frozenset(limited)
        self.limiter = RateLimiter(per_minute)

    def applies(self, request: web.Request, canonical: str) -> bool:
        """A Hoiio path asked without a Bearer token / Basic credentials."""
        return (
            canonical in self.paths
            and "Authorization" not in request.headers
            and "token" not in request.query
        )

    async def customer(self, request: web.Request) -> str:
        fields = await _fields(request)
        for name in AUTH_FIELDS:
            value = fields.get(name)
            if not isinstance(value, str) or not value:
                raise _unauthorized(f"error_{name}_param_missing", f"{name} is required")
        try:
            app = authenticate(self.apps, str(fields["app_id"]), str(fields["access_token"]))
        except BadAppId:
            raise _unauthorized(
                "error_invalid_app_id", "the Application ID is invalid or has been revoked"
            ) from None
        except BadAccessToken:
            raise _unauthorized(
                "error_invalid_access_token", "the Access Token is invalid or has been revoked"
            ) from None
        return app.customer_id

    def check_rate(self, method: str, canonical: str, customer_id: str) -> None:
        if (method, canonical) in self.limited and not self.limiter.allow(customer_id):
            raise ApiError(
                429,
                "error_rate_limit_exceeded",
                f"at most {self.limiter.per_minute} requests a minute on these routes",
                headers={"Retry-After": "1"},
            )


async def _fields(request: web.Request) -> dict[str, object]:
    """app_id / access_token from the query, else the body (form or JSON object)."""
    if "app_id" in request.query or "access_token" in request.query:
        return {k: request.query.get(k) for k in AUTH_FIELDS}
    raw = await request.read()  # cached: the handler reads the same bytes
    if not raw.strip():
        return {}
    try:
        if request.content_type == FORM:
            return parse_form(raw)
        if request.content_type == JSON:
            return parse_json_object(raw)
    except ApiError:
        return {}  # the handler answers the unreadable body
    return {}


def hoiio_errors(paths: Collection[str]) -> Middleware:
    """Error answers on Hoiio paths in the Hoiio way (module docstring). Outside the
    error middleware, so it sees every error, routing's 405 included."""
    patterns = [re.compile("^" + re.sub(r"\{[^}/]+\}", "[^/]+", p) + "$") for p in paths]

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if response.status < 400 or not isinstance(response, web.Response):
            return response
        if response.content_type != JSON or not any(p.match(request.path) for p in patterns):
            return response
        try:
            body = json.loads(response.body)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return response
        if not isinstance(body, dict) or "error" not in body:
            return response
        body["error"] = _CODES.get(response.status, body["error"])
        body["status"] = body["error"]
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        headers.pop("Content-Type", None)
        return web.json_response(body, status=response.status, headers=headers)

    return middleware
