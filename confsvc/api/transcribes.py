"""Transcription: /v1/conferences/{id}/transcribe_start|transcribe_stop and /v1/transcribes.

Start and stop go through the engine (the conference's lane); reads go to the store,
scoped to the caller's tenant (another tenant's transcribe is a 404, like a missing one)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from confsvc.api import schemas
from confsvc.api.auth import customer_of
from confsvc.api.bodies import json_body
from confsvc.api.lookup import owned
from confsvc.api.openapi import PAGING_QUERY, QueryParam, Route
from confsvc.api.paging import PAGING_PARAMS, envelope, page, query_params
from confsvc.api.schemas import NoFields, TranscribeStart
from confsvc.config import Settings
from confsvc.domain import Conference
from confsvc.domain.transcribe import Transcribe as TranscribeModel
from confsvc.domain.transcribe import TranscribeStatus
from confsvc.engine import Engine, NotFound
from confsvc.store.base import Store

BASE = "/v1/transcribes"
ITEM = BASE + "/{id}"
CONF_ITEM = "/v1/conferences/{id}"
TAGS = ("transcribes",)
CONF_TAGS = ("conferences",)
_TIME: dict[str, Any] = {"format": "date-time"}
_NEXT = "Pass as page_token; null on the last page."


class Transcribe(BaseModel):
    id: str
    customer_id: str
    conference_id: str
    status: TranscribeStatus
    language: str
    tm_create: str = Field(json_schema_extra=_TIME)
    tm_update: str | None = Field(json_schema_extra=_TIME)
    tm_end: str | None = Field(json_schema_extra=_TIME, description="When it was stopped.")


class TranscribeList(BaseModel):
    result: list[Transcribe]
    next_page_token: str | None = Field(description=_NEXT)


class Transcript(BaseModel):
    id: str
    customer_id: str
    transcribe_id: str
    conference_id: str
    conferencecall_id: str = Field(description="Who spoke.")
    direction: str = Field(description="in: what the caller said.")
    caller: schemas.Caller
    start_ms: int = Field(description="When the utterance started, epoch milliseconds (UTC).")
    end_ms: int = Field(description="When it ended, epoch milliseconds (UTC).")
    text: str
    tm_create: str = Field(json_schema_extra=_TIME)


class TranscriptList(BaseModel):
    result: list[Transcript]
    next_page_token: str | None = Field(description=_NEXT)


class TranscribeRoutes:
    def __init__(self, settings: Settings, store: Store, engine: Engine) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine

    def routes(self) -> list[Route]:
        conference_q = QueryParam(
            "conference_id", {"type": "string"}, "only this conference's transcribes"
        )
        return [
            Route(
                "POST",
                CONF_ITEM + "/transcribe_start",
                self.start,
                "startConferenceTranscribe",
                "Start transcribing every caller live (one at a time, only while "
                "progressing); segments arrive as transcript_created events",
                schemas.Conference,
                request=TranscribeStart,
                errors=(404, 409, 503),
                tags=CONF_TAGS,
            ),
            Route(
                "POST",
                CONF_ITEM + "/transcribe_stop",
                self.stop,
                "stopConferenceTranscribe",
                "Stop the active transcription",
                schemas.Conference,
                request=NoFields,
                request_required=False,
                errors=(404, 409),
                tags=CONF_TAGS,
            ),
            Route(
                "GET",
                BASE,
                self.list,
                "listTranscribes",
                "List transcribes, newest first",
                TranscribeList,
                query=(*PAGING_QUERY, conference_q),
                errors=(422,),
                tags=TAGS,
            ),
            Route(
                "GET",
                ITEM,
                self.get,
                "getTranscribe",
                "Get a transcribe",
                Transcribe,
                errors=(404,),
                tags=TAGS,
            ),
            Route(
                "GET",
                ITEM + "/transcripts",
                self.transcripts,
                "listTranscripts",
                "A transcribe's segments, newest first",
                TranscriptList,
                query=PAGING_QUERY,
                errors=(404, 422),
                tags=TAGS,
            ),
            Route(
                "DELETE",
                ITEM,
                self.delete,
                "deleteTranscribe",
                "Delete a transcribe and its segments (refused while progressing)",
                Transcribe,
                errors=(404, 409),
                tags=TAGS,
            ),
        ]

    def _conf(self, conf: Conference) -> web.Response:
        return web.json_response(conf.to_json(self.settings.dial_host))

    async def start(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        body = await json_body(request, TranscribeStart)
        conf_id = request.match_info["id"]
        return self._conf(await self.engine.start_transcribe(customer, conf_id, body.language))

    async def stop(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        await json_body(request, NoFields, optional=True)
        return self._conf(await self.engine.stop_transcribe(customer, request.match_info["id"]))

    async def list(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        params = query_params(request, (*PAGING_PARAMS, "conference_id"))
        p = page(params)
        found, token = await self.store.list_transcribes(
            customer,
            conference_id=params.get("conference_id"),
            page_size=p.size,
            page_token=p.token,
        )
        return web.json_response(envelope([t.to_json() for t in found], token))

    async def _owned(self, request: web.Request) -> TranscribeModel:
        return await owned(request, self.store.get_transcribe, "transcribe")

    async def get(self, request: web.Request) -> web.Response:
        return web.json_response((await self._owned(request)).to_json())

    async def transcripts(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        params = query_params(request, PAGING_PARAMS)
        p = page(params)
        ident = request.match_info["id"]
        tx = await self.store.get_transcribe(ident, customer)
        if tx is None:
            raise NotFound("transcribe", ident)
        segs, token = await self.store.list_transcripts(
            customer, tx.id, page_size=p.size, page_token=p.token
        )
        return web.json_response(envelope([s.to_json() for s in segs], token))

    async def delete(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        tx = await self.engine.delete_transcribe(customer, request.match_info["id"])
        return web.json_response(tx.to_json())
