"""Every error leaves the API as `{"error": <stable code>, "message": <text>}` (plus
`"field"` where one field is to blame). One middleware does the mapping, so handlers just
raise: ApiError, a DomainError (its code and http_status), a pydantic ValidationError
(422 invalid_field), aiohttp's HTTP exceptions (404 / 405 / 413 from routing and body
reading), or anything else (500 internal_error, logged with its traceback)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pydantic
import structlog
from aiohttp import web

from confsvc.ari import AriError
from confsvc.domain import DomainError, ValidationFailed
from confsvc.engine.errors import AsteriskUnavailable

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ASTERISK_UNAVAILABLE_MESSAGE = "Asterisk is unavailable; nothing was changed"
ARI_FAILED_MESSAGE = "Asterisk is unavailable; check the resource's state before retrying"
INTERNAL_MESSAGE = "internal server error"

# aiohttp's own HTTP exceptions (routing, body limits) -> our stable codes.
_HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class ApiError(Exception):
    """An error the API answers with as-is."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})

    @classmethod
    def bad_request(cls, message: str, *, field: str | None = None) -> ApiError:
        return cls(400, "bad_request", message, field=field)

    @classmethod
    def invalid_field(cls, field: str, message: str) -> ApiError:
        return cls(422, ValidationFailed.code, f"{field}: {message}", field=field)

    @classmethod
    def unauthorized(cls, message: str) -> ApiError:
        # RFC 6750: tell the client which scheme we expect.
        return cls(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status, headers=self.headers)


def from_domain(exc: DomainError) -> ApiError:
    if isinstance(exc, AsteriskUnavailable):
        # The domain text names ARI paths and hosts: log it, don't hand it out.
        log.warning("asterisk unavailable", error=exc.message)
        return ApiError(503, exc.code, ASTERISK_UNAVAILABLE_MESSAGE)
    return ApiError(exc.http_status, exc.code, exc.message, field=getattr(exc, "field", None))


def from_pydantic(exc: pydantic.ValidationError) -> ApiError:
    """422 for the first problem, naming its field (dotted path for nested ones)."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    if not errors:  # pydantic never does this; be safe rather than 500
        return ApiError(422, ValidationFailed.code, "invalid request body")
    first = errors[0]
    loc = first.get("loc", ())
    if not loc:
        return ApiError.bad_request("request body must be a JSON object")
    field = ".".join(str(part) for part in loc)
    if first.get("type") == "extra_forbidden":
        return ApiError.invalid_field(field, "unknown field")
    if first.get("type") == "missing":
        return ApiError.invalid_field(field, "is required")
    return ApiError.invalid_field(field, str(first.get("msg", "invalid value")))


def from_http(exc: web.HTTPException) -> ApiError:
    status = exc.status
    code = _HTTP_CODES.get(status, "bad_request" if status < 500 else "internal_error")
    headers: dict[str, str] = {}
    if isinstance(exc, web.HTTPMethodNotAllowed):
        headers["Allow"] = ",".join(sorted(exc.allowed_methods))
        message = f"method {exc.method} is not allowed here"
    elif status == 404:
        message = "no such route"
    else:
        message = exc.reason
    return ApiError(status, code, message, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except DomainError as exc:
        return from_domain(exc).response()
    except pydantic.ValidationError as exc:
        return from_pydantic(exc).response()
    except AriError as exc:
        # An ARI failure the engine did not wrap: Asterisk refused or is away. Unlike a
        # wrapped AsteriskUnavailable we cannot promise that nothing was changed.
        log.warning(
            "ari error in request", method=request.method, path=request.path, error=str(exc)
        )
        return ApiError(503, AsteriskUnavailable.code, ARI_FAILED_MESSAGE).response()
    except web.HTTPException as exc:
        if exc.status < 400:  # redirects and the like are not errors
            raise
        return from_http(exc).response()
    except asyncio.CancelledError:
        raise  # the client went away or the server is stopping: not an error to answer
    except Exception:
        log.exception("unhandled error in request", method=request.method, path=request.path)
        return ApiError(500, "internal_error", INTERNAL_MESSAGE).response()
