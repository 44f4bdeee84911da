"""Request bodies, read in one place: which content types a route takes, and how its bytes
become a JSON object (or a form's fields). Whatever a client sends ends here as a 4xx with
a stable code, never a 500.

- JSON routes take `application/json` only; any other type, or none, is 415
  unsupported_media_type. A body is never guessed at: browsers send text/plain and form
  posts across sites without asking first, and a JSON API that reads them as JSON can be
  driven from any web page.
- Form routes (Plivo, dial-out: their clients post forms) also take
  `application/x-www-form-urlencoded`, decoded as strict UTF-8 (raw or percent-encoded).
- A charset other than UTF-8 is 415 (JSON is UTF-8 by definition; forms are read as such).
- An empty (or blank) body is no body, whatever its Content-Type: a route whose body is
  optional takes it as `{}`, one that needs a body answers 400."""

from __future__ import annotations

import json
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web
from pydantic import BaseModel

from confsvc.api.errors import ApiError

M = TypeVar("M", bound=BaseModel)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MAX_BODY_DEPTH = 32
MAX_FORM_FIELDS = 100
NOT_AN_OBJECT = "request body must be a JSON object"


def unsupported(types: tuple[str, ...]) -> ApiError:
    return ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type must be {' or '.join(types)} (with charset utf-8, if any)",
    )


def check_content_type(request: web.Request, types: tuple[str, ...]) -> str:
    """The request's media type if it is one of `types` (UTF-8), else ApiError 415.
    aiohttp reports a missing header as application/octet-stream: refused too."""
    charset = (request.charset or "").lower() or None
    if request.content_type not in types or charset not in (None, "utf-8", "utf8"):
        raise unsupported(types)
    return request.content_type


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _depth(value: Any) -> int:
    """Nesting depth, iteratively. Bodies near the interpreter's recursion limit would
    parse, then fail later in json.dumps/loads deeper in the stack (store, to_json)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or ApiError 400 bad_request: bad UTF-8, NaN, absurd
    nesting, huge numbers, lone surrogates (valid JSON escapes that SQLite could not store)."""
    too_deep = ApiError.bad_request(f"request body is nested deeper than {MAX_BODY_DEPTH} levels")
    if not raw.strip():
        raise ApiError.bad_request(NOT_AN_OBJECT)
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise too_deep from None
    except UnicodeError:  # before ValueError: UnicodeDecodeError is one
        raise ApiError.bad_request("request body is not valid UTF-8 text") from None
    except ValueError as exc:  # JSONDecodeError, int digit limits, NaN/Infinity
        raise ApiError.bad_request(f"malformed JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError.bad_request(NOT_AN_OBJECT)
    if _depth(body) > MAX_BODY_DEPTH:
        raise too_deep
    try:
        json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise ApiError.bad_request("request body contains a lone surrogate escape") from None
    return body


def parse_form(raw: bytes) -> dict[str, Any]:
    """A urlencoded form -> {field: value}; a repeated field -> a list of its values.
    Bytes that are not UTF-8, raw or percent-encoded, are ApiError 400 bad_request."""
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeError:
        raise ApiError.bad_request("form body is not valid UTF-8 text") from None
    except ValueError:  # more fields than max_num_fields
        raise ApiError.bad_request(f"form body has more than {MAX_FORM_FIELDS} fields") from None
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


async def json_object(request: web.Request, *, forms: bool = False) -> dict[str, Any] | None:
    """The body as a JSON object (or, with `forms`, a form's fields); None when empty."""
    raw = await request.read()
    if not raw.strip():
        return None
    kind = check_content_type(request, (JSON, FORM) if forms else (JSON,))
    return parse_form(raw) if kind == FORM else parse_json_object(raw)


async def json_body(
    request: web.Request,
    model: type[M],
    *,
    optional: bool = False,
    immutable: frozenset[str] = frozenset(),
) -> M:
    """The JSON body as `model`; shape errors become pydantic ValidationErrors (422, see
    errors.py). `optional`: no body means `{}`. `immutable` fields get a clearer message
    than "unknown field"."""
    body = await json_object(request)
    if body is None:
        if not optional:
            raise ApiError.bad_request(NOT_AN_OBJECT)
        body = {}
    for key in body:
        if key in immutable:
            raise ApiError.invalid_field(key, "cannot be changed after creation")
    return model.model_validate(body)
