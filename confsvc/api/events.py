"""GET /v1/events: the tenant's stored events, oldest first, after a cursor - the polling
twin of the WebSocket's replay (same events, same seq)."""

from __future__ import annotations

import re

from aiohttp import web
from pydantic import BaseModel, Field

from confsvc.api.auth import customer_of
from confsvc.api.errors import ApiError
from confsvc.api.openapi import QueryParam, Route
from confsvc.api.paging import query_params
from confsvc.api.ws import WsRoutes
from confsvc.events.derive import EVENT_TYPES
from confsvc.store.base import DEFAULT_PAGE_SIZE, check_page_size

PATH = "/v1/events"
_INT_RE = re.compile(r"[0-9]{1,6}")


class EventOut(BaseModel):
    id: str = Field(description="Public id (uuid); receivers dedupe on it.")
    seq: int = Field(
        description="The tenant's event number: 1, 2, 3... in commit order (other "
        "tenants' events are not counted)."
    )
    type: str = Field(json_schema_extra={"enum": list(EVENT_TYPES)})
    customer_id: str
    conference_id: str
    timestamp: str
    data: dict[str, object] = Field(description="The resource's JSON after the change.")


class EventList(BaseModel):
    result: list[EventOut]
    next_since: int | None = Field(description="Pass as since for more; null when done.")


class EventRoutes:
    def __init__(self, ws: WsRoutes) -> None:
        self.ws = ws  # shares the store and the `since` rules

    def routes(self) -> list[Route]:
        return [
            Route(
                "GET",
                PATH,
                self.list,
                "listEvents",
                "The tenant's events after `since` (seq or event id), oldest first",
                EventList,
                query=(
                    QueryParam("since", {"type": "string"}, "seq or id of the last event seen"),
                    QueryParam("conference_id", {"type": "string"}, "only this conference"),
                    QueryParam("page_size", {"type": "integer", "minimum": 1, "maximum": 100}),
                ),
                errors=(422,),
                tags=("events",),
            )
        ]

    async def list(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        params = query_params(request, ("since", "conference_id", "page_size"))
        since = await self.ws.resolve_since(customer, params.get("since")) or 0
        size = DEFAULT_PAGE_SIZE
        if "page_size" in params:
            if not _INT_RE.fullmatch(params["page_size"]):
                raise ApiError.bad_request("page_size must be an integer", field="page_size")
            size = check_page_size(int(params["page_size"]))
        events = await self.ws.store.list_events(
            customer, after=since, conference_id=params.get("conference_id"), limit=size
        )
        next_since = events[-1].seq if len(events) == size else None
        return web.json_response(
            {"result": [e.to_json() for e in events], "next_since": next_since}
        )
