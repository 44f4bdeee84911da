"""Query strings: known parameters only, each at most once; paging and enum filters.

Status codes: a value that is not even of the right kind (page_size=abc, status=bogus, an
unknown or repeated parameter) is a malformed request, 400 bad_request; a well-formed value
that breaks a rule (page_size=0 or 101, a page_token we did not issue) is 422 invalid_field,
the same as a body field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from aiohttp import web

from confsvc.api.errors import ApiError
from confsvc.domain import ValidationFailed
from confsvc.store.base import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, check_page_size

E = TypeVar("E", bound=StrEnum)

# Accepted on every route: the ?token= form of authentication.
ALWAYS_ALLOWED = frozenset({"token"})
PAGING_PARAMS = ("page_size", "page_token")
_INT_RE = re.compile(r"[+-]?[0-9]+")
# Tokens we issue are short base64url text. Checking the form first keeps odd input away
# from the store's decoder (e.g. base64 of "[[[[..." would make json.loads recurse deeply).
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,512}")


def query_params(request: web.Request, allowed: Iterable[str] = ()) -> dict[str, str]:
    """The query as a plain dict. Unknown names are refused rather than ignored, like
    unknown body fields: `?page_sise=10` silently giving 50 rows would hide a client bug."""
    names = ALWAYS_ALLOWED | set(allowed)
    out: dict[str, str] = {}
    for key in request.query:
        if key not in names:
            raise ApiError.bad_request(f"unknown query parameter {key!r}", field=key)
        values = request.query.getall(key)
        if len(values) > 1:
            raise ApiError.bad_request(f"query parameter {key!r} given more than once", field=key)
        out[key] = values[0]
    return out


@dataclass(frozen=True, slots=True)
class Page:
    size: int
    token: str | None


def page(params: dict[str, str]) -> Page:
    raw = params.get("page_size")
    if raw is None:
        size = DEFAULT_PAGE_SIZE
    else:
        text = raw.strip()
        if not _INT_RE.fullmatch(text):
            raise ApiError.bad_request("page_size must be an integer", field="page_size")
        # Longer than any valid size: out of range (and int() of 5000 digits would raise).
        size = int(text) if len(text) <= 6 else MAX_PAGE_SIZE + 1
        check_page_size(size)  # ValidationFailed(page_size) -> 422
    # An empty token is "first page": clients often echo a null next_page_token as "".
    token = params.get("page_token") or None
    if token is not None and not _TOKEN_RE.fullmatch(token):
        raise ValidationFailed("page_token", "invalid page token")  # as the store says it
    return Page(size=size, token=token)


def enum_param(params: dict[str, str], name: str, enum: type[E]) -> E | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return enum(raw)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise ApiError.bad_request(f"{name} must be one of: {allowed}", field=name) from None


def envelope(items: Sequence[dict[str, Any]], next_page_token: str | None) -> dict[str, Any]:
    return {"result": list(items), "next_page_token": next_page_token}
