"""The one way a by-id route finds its resource: scoped to the caller's tenant, and 404
(never 403) when it is missing or another tenant's, so existence is not revealed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from confsvc.api.auth import customer_of
from confsvc.api.paging import query_params
from confsvc.engine.errors import NotFound

T = TypeVar("T")


async def owned(
    request: web.Request,
    get: Callable[[str, str], Awaitable[T | None]],
    entity: str,
    key: str = "id",
    query: tuple[str, ...] = (),
) -> T:
    """get(id, customer_id) for the path's {key}; also refuses unknown query parameters
    (`query`: the ones allowed)."""
    query_params(request, query)
    ident = request.match_info[key]
    found = await get(ident, customer_of(request))
    if found is None:
        raise NotFound(entity, ident)
    return found
