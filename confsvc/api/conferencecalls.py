"""/v1/conferencecalls: list, get, and kick (DELETE).

Participants are created by dial-in (ARI events), never by this API. A kick only moves the
call to `leaving`; the leave event that follows makes it `leaved` (as in the seed)."""

from __future__ import annotations

from aiohttp import web

from confsvc.api import schemas
from confsvc.api.auth import customer_of
from confsvc.api.lookup import owned
from confsvc.api.openapi import PAGING_QUERY, QueryParam, Route
from confsvc.api.paging import PAGING_PARAMS, enum_param, envelope, page, query_params
from confsvc.domain import ConferencecallStatus
from confsvc.engine import Engine
from confsvc.store.base import Store

BASE = "/v1/conferencecalls"
ITEM = BASE + "/{id}"
TAGS = ("conferencecalls",)


class ConferencecallRoutes:
    def __init__(self, store: Store, engine: Engine) -> None:
        self.store = store
        self.engine = engine

    def routes(self) -> list[Route]:
        filters = (
            QueryParam("conference_id", {"type": "string"}, "only this conference's calls"),
            QueryParam(
                "status",
                {"type": "string", "enum": [s.value for s in ConferencecallStatus]},
                "only calls in this status",
            ),
        )
        return [
            Route(
                "GET",
                BASE,
                self.list,
                "listConferencecalls",
                "List participants, newest first",
                schemas.ConferencecallList,
                query=(*PAGING_QUERY, *filters),
                errors=(422,),
                tags=TAGS,
            ),
            Route(
                "GET",
                ITEM,
                self.get,
                "getConferencecall",
                "Get a participant",
                schemas.Conferencecall,
                errors=(404,),
                tags=TAGS,
            ),
            Route(
                "DELETE",
                ITEM,
                self.kick,
                "kickConferencecall",
                "Kick a participant: it becomes leaving, then leaved once its channel is gone",
                schemas.Conferencecall,
                errors=(404, 409, 503),
                tags=TAGS,
            ),
        ]

    async def list(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        params = query_params(request, (*PAGING_PARAMS, "status", "conference_id"))
        status = enum_param(params, "status", ConferencecallStatus)
        p = page(params)
        calls, token = await self.store.list_conferencecalls(
            customer,
            conference_id=params.get("conference_id"),
            status=status,
            page_size=p.size,
            page_token=p.token,
        )
        return web.json_response(envelope([c.to_json() for c in calls], token))

    async def get(self, request: web.Request) -> web.Response:
        call = await owned(request, self.store.get_conferencecall, "conferencecall")
        return web.json_response(call.to_json())

    async def kick(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        call = await self.engine.kick(customer, request.match_info["id"])
        return web.json_response(call.to_json())
