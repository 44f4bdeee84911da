"""/v1/conferences: create, list, get, update, delete (terminate).

Reads go straight to the store (scoped to the caller's tenant); changes go through the
engine, which runs them in the conference's ordered lane and validates before writing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from confsvc.api import schemas
from confsvc.api.auth import customer_of
from confsvc.api.bodies import json_body
from confsvc.api.lookup import owned
from confsvc.api.openapi import PAGING_QUERY, QueryParam, Route
from confsvc.api.paging import PAGING_PARAMS, enum_param, envelope, page, query_params
from confsvc.api.schemas import IMMUTABLE_FIELDS, ConferenceCreate, ConferenceUpdate
from confsvc.config import Settings
from confsvc.domain import Conference, ConferenceStatus
from confsvc.engine import Engine
from confsvc.store.base import Store

BASE = "/v1/conferences"
ITEM = BASE + "/{id}"
TAGS = ("conferences",)


class ConferenceRoutes:
    """`media_node(conference id)`: the media node its bridge is on, or None."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        engine: Engine,
        media_node: Callable[[str], str | None] = lambda _id: None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine
        self.media_node = media_node

    def routes(self) -> list[Route]:
        status_q = QueryParam(
            "status",
            {"type": "string", "enum": [s.value for s in ConferenceStatus]},
            "only conferences in this status",
        )
        return [
            Route(
                "POST",
                BASE,
                self.create,
                "createConference",
                "Create a conference",
                schemas.Conference,
                status=201,
                request=ConferenceCreate,
                errors=(409, 503),
                tags=TAGS,
            ),
            Route(
                "GET",
                BASE,
                self.list,
                "listConferences",
                "List conferences, newest first",
                schemas.ConferenceList,
                query=(*PAGING_QUERY, status_q),
                errors=(422,),
                tags=TAGS,
            ),
            Route(
                "GET",
                ITEM,
                self.get,
                "getConference",
                "Get a conference",
                schemas.Conference,
                errors=(404,),
                tags=TAGS,
            ),
            Route(
                "PUT",
                ITEM,
                self.update,
                "updateConference",
                "Update name, detail, timeout, data (omitted fields stay as they are)",
                schemas.Conference,
                request=ConferenceUpdate,
                errors=(404, 409, 503),
                tags=TAGS,
            ),
            Route(
                "DELETE",
                ITEM,
                self.delete,
                "deleteConference",
                "End a conference: terminating (callers are kicked), or terminated at once "
                "when nobody is inside",
                schemas.Conference,
                errors=(404, 409, 503),
                tags=TAGS,
            ),
        ]

    def _out(self, conf: Conference) -> dict[str, Any]:
        return {**conf.to_json(self.settings.dial_host), "media_node": self.media_node(conf.id)}

    def _json(self, conf: Conference) -> web.Response:
        return web.json_response(self._out(conf))

    async def create(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        body = await json_body(request, ConferenceCreate)
        conf = await self.engine.create_conference(customer, **body.engine_fields())
        return web.json_response(
            self._out(conf),
            status=201,
            headers={"Location": f"{BASE}/{conf.id}"},
        )

    async def list(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        params = query_params(request, (*PAGING_PARAMS, "status"))
        status = enum_param(params, "status", ConferenceStatus)
        p = page(params)
        confs, token = await self.store.list_conferences(
            customer, status=status, page_size=p.size, page_token=p.token
        )
        return web.json_response(envelope([self._out(c) for c in confs], token))

    async def get(self, request: web.Request) -> web.Response:
        return self._json(await owned(request, self.store.get_conference, "conference"))

    async def update(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        body = await json_body(request, ConferenceUpdate, immutable=IMMUTABLE_FIELDS)
        conf_id = request.match_info["id"]
        conf = await self.engine.update_conference(customer, conf_id, **body.engine_fields())
        return self._json(conf)

    async def delete(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        conf = await self.engine.delete_conference(customer, request.match_info["id"])
        return self._json(conf)
