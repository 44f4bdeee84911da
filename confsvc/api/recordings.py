"""Recording: /v1/conferences/{id}/recording_start|recording_stop and /v1/recordings.

Start and stop go through the engine (the conference's lane); reads go to the store,
scoped to the caller's tenant; the file is served from the controller's data dir."""

from __future__ import annotations

from aiohttp import web

from confsvc.api import schemas
from confsvc.api.auth import customer_of
from confsvc.api.bodies import json_body
from confsvc.api.hoiio_auth import AUTH_FIELDS
from confsvc.api.lookup import owned
from confsvc.api.openapi import PAGING_QUERY, QueryParam, Route
from confsvc.api.paging import PAGING_PARAMS, envelope, page, query_params
from confsvc.api.schemas import NoFields, RecordingStart
from confsvc.config import Settings
from confsvc.domain import Conference, Recording
from confsvc.domain.recording import CONTENT_TYPES
from confsvc.engine import Engine, NotFound
from confsvc.engine.record import RECORDINGS_URL
from confsvc.store.base import Store

BASE = RECORDINGS_URL
ITEM = BASE + "/{id}"
FILE = ITEM + "/file"
CONF_ITEM = "/v1/conferences/{id}"
TAGS = ("recordings",)
CONF_TAGS = ("conferences",)


class RecordingRoutes:
    def __init__(self, settings: Settings, store: Store, engine: Engine) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine

    def routes(self) -> list[Route]:
        conference_q = QueryParam(
            "conference_id", {"type": "string"}, "only this conference's recordings"
        )
        return [
            Route(
                "POST",
                CONF_ITEM + "/recording_start",
                self.start,
                "startConferenceRecording",
                "Start recording the conference's mixed audio (one active recording at a "
                "time, only while progressing); the body may be empty",
                schemas.Conference,
                request=RecordingStart,
                request_required=False,
                errors=(404, 409, 503),
                tags=CONF_TAGS,
            ),
            Route(
                "POST",
                CONF_ITEM + "/recording_stop",
                self.stop,
                "stopConferenceRecording",
                "Stop the active recording; answers once its file is ready to download",
                schemas.Conference,
                request=NoFields,
                request_required=False,
                errors=(404, 409, 503),
                tags=CONF_TAGS,
            ),
            Route(
                "GET",
                BASE,
                self.list,
                "listRecordings",
                "List recordings, newest first",
                schemas.RecordingList,
                query=(*PAGING_QUERY, conference_q),
                errors=(422,),
                tags=TAGS,
            ),
            Route(
                "GET",
                ITEM,
                self.get,
                "getRecording",
                "Get a recording",
                schemas.Recording,
                errors=(404,),
                tags=TAGS,
            ),
            Route(
                "GET",
                FILE,
                self.file,
                "getRecordingFile",
                "Download a finished recording's audio",
                None,
                errors=(404, 409),
                tags=TAGS,
                media_types=tuple(CONTENT_TYPES.values()),
            ),
            Route(
                "DELETE",
                ITEM,
                self.delete,
                "deleteRecording",
                "Delete a recording and its file (refused while it is recording)",
                schemas.Recording,
                errors=(404, 409),
                tags=TAGS,
            ),
        ]

    def _conf(self, conf: Conference) -> web.Response:
        return web.json_response(conf.to_json(self.settings.dial_host))

    def _rec(self, rec: Recording) -> dict[str, object]:
        return rec.to_json(BASE)

    async def start(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        body = await json_body(request, RecordingStart, optional=True)
        conf_id = request.match_info["id"]
        conf = await self.engine.start_recording(customer, conf_id, **body.engine_fields())
        return self._conf(conf)

    async def stop(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        # Nothing to say, but a body must at least be an empty object.
        await json_body(request, NoFields, optional=True)
        conf = await self.engine.stop_recording(customer, request.match_info["id"])
        return self._conf(conf)

    async def list(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        params = query_params(request, (*PAGING_PARAMS, "conference_id"))
        p = page(params)
        recs, token = await self.store.list_recordings(
            customer,
            conference_id=params.get("conference_id"),
            page_size=p.size,
            page_token=p.token,
        )
        return web.json_response(envelope([self._rec(r) for r in recs], token))

    async def _owned(self, request: web.Request, query: tuple[str, ...] = ()) -> Recording:
        return await owned(request, self.store.get_recording, "recording", query=query)

    async def get(self, request: web.Request) -> web.Response:
        return web.json_response(self._rec(await self._owned(request)))

    async def file(self, request: web.Request) -> web.StreamResponse:
        rec = await self._owned(request, AUTH_FIELDS)  # a Hoiio record_url takes app_id...
        rec.check_downloadable()
        path = self.settings.recordings_dir / rec.filename
        if not path.is_file():
            raise NotFound("recording", rec.id)
        return web.FileResponse(
            path,
            headers={
                "Content-Type": rec.content_type,
                "Content-Disposition": f'attachment; filename="{rec.filename}"',
            },
        )

    async def delete(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        rec = await self.engine.delete_recording(customer, request.match_info["id"])
        return web.json_response(self._rec(rec))
