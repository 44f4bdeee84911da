"""Route descriptions and the OpenAPI 3.1 document built from them.

Each resource module returns `Route`s; app.py registers exactly those with aiohttp and
passes the same list here, so the document cannot forget a route. Schemas come from the
pydantic models (`model_json_schema` machinery) and land in components/schemas; OpenAPI
3.1 speaks JSON Schema 2020-12, which is what pydantic emits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from confsvc.api import member_schemas, schemas
from confsvc.api.bodies import FORM, JSON
from confsvc.api.errors import Handler

REF = "#/components/schemas/{model}"
_PATH_PARAM_RE = re.compile(r"\{([^}/]+)\}")

STATUS_TEXT: dict[int, str] = {
    101: "Switching Protocols: the WebSocket is open",
    200: "OK",
    201: "Created",
    202: "Accepted (Plivo routes with callback_url: the result is sent there)",
    204: "Done; no body",
    400: "Malformed request (bad JSON, body not an object, bad query parameter): bad_request",
    401: "Missing or invalid token: unauthorized; Hoiio paths: error_invalid_app_id, "
    "error_invalid_access_token, error_app_id_param_missing, error_access_token_param_missing",
    403: "Not allowed for this account: error_dest_not_supported, error_invalid_caller_id "
    "(dial-out)",
    404: "Unknown id, or another tenant's: <entity>_not_found",
    405: "Method not allowed: method_not_allowed",
    409: "Not allowed in the current state: <entity>_invalid_state, room_in_use",
    429: "Too many requests from this tenant on the Hoiio paths: error_rate_limit_exceeded",
    415: "Body sent with a Content-Type this route does not take (JSON routes: "
    "application/json only): unsupported_media_type",
    422: "A field breaks a rule or is unknown: invalid_field; a URL the outbound policy "
    "refuses: url_not_allowed (both name the field)",
    500: "Unexpected server error: internal_error",
    503: "Asterisk (or the speech model) unavailable; nothing was changed: "
    "asterisk_unavailable, transcription_unavailable",
}


@dataclass(frozen=True, slots=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler
    operation_id: str
    summary: str
    response: type[BaseModel] | None  # None: any JSON object
    status: int = 200
    request: type[BaseModel] | None = None
    # False: the body may be left out (every field has a default; api/bodies.py).
    request_required: bool = True
    # The body may also be a urlencoded form (Plivo, dial-out).
    forms: bool = False
    query: tuple[QueryParam, ...] = ()
    errors: tuple[int, ...] = ()
    public: bool = False  # served without a token
    tags: tuple[str, ...] = field(default=())
    # A binary success response (e.g. audio/wav) instead of the JSON `response` model.
    media_types: tuple[str, ...] = ()
    # Other success answers, e.g. Plivo's 202 when the work runs asynchronously; one with
    # the same status as `status` is documented as either body (anyOf).
    also: tuple[tuple[int, type[BaseModel]], ...] = ()


# A path parameter is one non-empty path segment.
PATH_SEGMENT: dict[str, Any] = {"type": "string", "minLength": 1}

PAGING_QUERY = (
    QueryParam("page_size", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}),
    QueryParam("page_token", {"type": "string"}, "next_page_token of the previous page"),
)


def _content(
    model: type[BaseModel] | None, media_types: tuple[str, ...] = (JSON,)
) -> dict[str, Any]:
    schema = {"type": "object"} if model is None else {"$ref": REF.format(model=model.__name__)}
    return {media_type: {"schema": schema} for media_type in media_types}


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.operation_id, "summary": route.summary}
    if route.tags:
        op["tags"] = list(route.tags)
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": PATH_SEGMENT}
        for name in _PATH_PARAM_RE.findall(route.path)
    ]
    for q in route.query:
        param: dict[str, Any] = {"name": q.name, "in": "query", "required": False}
        param["schema"] = q.schema
        if q.description:
            param["description"] = q.description
        params.append(param)
    if params:
        op["parameters"] = params
    if route.request is not None:
        types = (JSON, FORM) if route.forms else (JSON,)
        op["requestBody"] = {
            "required": route.request_required,
            "content": _content(route.request, types),
        }
    success: dict[str, Any] = {"description": STATUS_TEXT.get(route.status, "OK")}
    if route.media_types:
        binary = {"schema": {"type": "string", "format": "binary"}}
        success["content"] = {mt: binary for mt in route.media_types}
    elif route.status not in (101, 204):  # no body to describe (101: the WebSocket follows)
        success["content"] = _content(route.response)
    responses: dict[str, Any] = {str(route.status): success}
    for status, model in route.also:
        other = responses.setdefault(str(status), {"description": STATUS_TEXT[status]})
        body = _content(model)["application/json"]
        if "content" in other:
            first = other["content"]["application/json"]["schema"]
            body = {"schema": {"anyOf": [first, body["schema"]]}}
        other["content"] = {"application/json": body}
    codes = set(route.errors) | {500}
    if not route.public:  # every authenticated route refuses unknown query parameters
        codes |= {400, 401}
    if route.request is not None:
        codes |= {400, 415, 422}
    for code in sorted(codes):
        responses[str(code)] = {
            "description": STATUS_TEXT[code],
            "content": _content(schemas.Error),
        }
    op["responses"] = responses
    if route.public:
        op["security"] = []
    return op


def components(routes: Sequence[Route] = ()) -> dict[str, Any]:
    pairs = [(m, "validation") for m in schemas.REQUEST_MODELS]
    pairs += [(m, "serialization") for m in schemas.RESPONSE_MODELS]
    pairs += list(member_schemas.MODELS)  # participant control and the Plivo routes
    # Models a resource module keeps to itself (e.g. api/webhooks.py) come from its routes.
    known = {m for m, _ in pairs}
    for route in routes:
        for model, mode in ((route.request, "validation"), (route.response, "serialization")):
            if model is not None and model not in known:
                known.add(model)
                pairs.append((model, mode))
    _, top = models_json_schema(pairs, ref_template=REF)  # type: ignore[arg-type]
    return dict(sorted(top.get("$defs", {}).items()))


def build_openapi(
    routes: Sequence[Route],
    *,
    title: str = "confsvc",
    version: str = "0.1.0",
    servers: Sequence[str] = (),
) -> dict[str, Any]:
    """servers: base URLs clients reach this API at. app.py adds the `webhooks` section
    (event_schemas.py) once the components are known."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Conference rooms on Asterisk ARI. Errors are "
            '{"error": <code>, "message": <text>, "field"?: <name>}.',
        },
        "paths": paths,
        "components": {
            "schemas": components(routes),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "tokenQuery": {"type": "apiKey", "in": "query", "name": "token"},
                # A Plivo-style account, auth_id:auth_token (README "Coming from Plivo").
                "basicAuth": {"type": "http", "scheme": "basic"},
            },
        },
        # Any one form authenticates (OR of the requirement objects).
        "security": [{"bearerAuth": []}, {"tokenQuery": []}, {"basicAuth": []}],
    }
    if servers:
        doc["servers"] = [{"url": url} for url in servers]
    return doc
