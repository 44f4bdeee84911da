"""Hoiio-shaped routes (seeds 000 and 002) besides POST /v1/calls (api/calls.py):

    GET|POST /open/conference/call        the seed's conference/call, at Hoiio's path:
                                          dest, room, caller_id, tag, notify_url ->
                                          200 {status: success_ok, txn_refs, room}
    GET|POST /open/ivr/middle/record      the seed's Record block: session (the
                                          conferencecall id), msg, max_duration, tag,
                                          notify_url -> 200 {status: success_ok, txn_ref}
    POST /v1/conferencecalls/{id}/record  the same block, the conferencecall in the path

Parameters come from the query (GET) or the body (POST: a form or a JSON object), and
app_id + access_token authenticate (api/hoiio_auth.py). The `msg` prompt's speech is made
here (confsvc/speech.py) before anything starts, so a bad language is refused with
nothing done."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from confsvc.api.auth import customer_of
from confsvc.api.calls import CallsCreate, read_body
from confsvc.api.errors import ApiError
from confsvc.api.hoiio_auth import AUTH_FIELDS, without_auth_fields
from confsvc.api.openapi import Route
from confsvc.api.paging import query_params
from confsvc.domain.record_block import (
    MAX_DURATION_DEFAULT,
    MAX_DURATION_LIMIT,
    MSG_MAX,
    NOTIFY_URL_MAX,
    Audio,
    Prompt,
    RecordBlockError,
    parse_request,
)
from confsvc.engine import Engine
from confsvc.engine.errors import NotFound
from confsvc.engine.media import media_uris
from confsvc.outbound.policy import UrlUnresolvable
from confsvc.speech import Speech, SpeechError, check

CONFERENCE_CALL = "/open/conference/call"
RECORD = "/open/ivr/middle/record"
CALL_RECORD = "/v1/conferencecalls/{id}/record"
PATHS = (CONFERENCE_CALL, RECORD, CALL_RECORD)
TAGS = ("hoiio",)


class HoiioCredentials(BaseModel):
    app_id: str | None = Field(default=None, description="Your application's id.")
    access_token: str | None = Field(default=None, description="Your application's token.")


class ConferenceCall(CallsCreate, HoiioCredentials):
    """The seed's conference/call parameters (POST /v1/calls documents each)."""


class RecordBlock(HoiioCredentials):
    model_config = ConfigDict(extra="forbid")

    session: str | None = Field(
        default=None, description="The conferencecall id (/open/ivr/middle/record only)."
    )
    msg: str | None = Field(
        default=None,
        json_schema_extra={"maxLength": MSG_MAX},
        description='Prompt before the beep: text, or <speech language="fr-FR" '
        'gender="male">...</speech> and <url>https://.../a.mp3</url> parts.',
    )
    max_duration: int | str | None = Field(
        default=None,
        description=f"Seconds, 1-{MAX_DURATION_LIMIT}; default {MAX_DURATION_DEFAULT}.",
    )
    tag: str | None = Field(default=None, json_schema_extra={"maxLength": 256})
    notify_url: str | None = Field(
        default=None,
        json_schema_extra={"maxLength": NOTIFY_URL_MAX},
        description="http(s) URL told (form POST) how the block ended.",
    )


class HoiioStatus(BaseModel):
    status: str = Field(description="success_ok")
    txn_refs: list[str] | None = None
    txn_ref: str | None = None
    room: str | None = None
    session: str | None = None
    conference_id: str | None = None


class HoiioRoutes:
    def __init__(self, engine: Engine, speech: Speech) -> None:
        self.engine = engine
        self.speech = speech

    def routes(self) -> list[Route]:
        errors = (400, 401, 403, 404, 405, 409, 415, 422, 429, 503)
        out: list[Route] = []
        for method in ("GET", "POST"):
            suffix = method.capitalize()
            out += [
                Route(
                    method,
                    CONFERENCE_CALL,
                    self.conference_call,
                    f"hoiioConferenceCall{suffix}",
                    "Hoiio conference/call: call up to 8 numbers into a room",
                    HoiioStatus,
                    request=ConferenceCall if method == "POST" else None,
                    request_required=False,
                    forms=True,
                    errors=errors,
                    tags=TAGS,
                ),
                Route(
                    method,
                    RECORD,
                    self.record,
                    f"hoiioRecord{suffix}",
                    "Hoiio Record block on a conferencecall (session = its id)",
                    HoiioStatus,
                    request=RecordBlock if method == "POST" else None,
                    request_required=False,
                    forms=True,
                    errors=errors,
                    tags=TAGS,
                ),
            ]
        out.append(
            Route(
                "POST",
                CALL_RECORD,
                self.record_call,
                "recordConferencecall",
                "Record this caller alone (Hoiio Record block): prompt, beep, until #, "
                "max_duration or hangup; the recording is an ordinary recording",
                HoiioStatus,
                request=RecordBlock,
                request_required=False,
                forms=True,
                errors=errors,
                tags=TAGS,
            )
        )
        return out

    async def conference_call(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        params = await _params(request)
        placed = await self.engine.place_calls(customer, params)
        return web.json_response(placed)

    async def record(self, request: web.Request) -> web.Response:
        params = await _params(request)
        session = params.pop("session", None)
        if not isinstance(session, str) or not session:
            raise RecordBlockError(
                "error_session_param_missing", "session is required", field="session"
            )
        return await self._record(request, session, params)

    async def record_call(self, request: web.Request) -> web.Response:
        query_params(request, AUTH_FIELDS)
        body = without_auth_fields(await read_body(request))
        return await self._record(request, request.match_info["id"], body)

    async def _record(
        self, request: web.Request, session: str, body: dict[str, Any]
    ) -> web.Response:
        customer = customer_of(request)
        req = parse_request(body)
        await self._check_notify(req.notify_url)
        media = [uri for part in req.prompt for uri in await self._media(part)]
        try:
            result = await self.engine.record_block(customer, session, req, media)
        except NotFound:
            raise RecordBlockError(
                "error_invalid_session", "no such session", field="session", status=404
            ) from None
        return web.json_response(result)

    async def _check_notify(self, url: str | None) -> None:
        try:
            await self.engine.outbound.check_all({"notify_url": url})
        except UrlUnresolvable as exc:
            raise RecordBlockError(
                "error_unable_to_resolve_notify_url", exc.message, field="notify_url"
            ) from None

    async def _media(self, part: Prompt) -> list[str]:
        if isinstance(part, Audio):
            try:
                await self.engine.outbound.check("msg", part.url)
            except UrlUnresolvable:
                raise RecordBlockError(
                    "error_msg_invalid_url", "the <url> host does not resolve"
                ) from None
            return media_uris(part.url)
        try:
            text, language, voice = check(part.text, part.language, part.voice)
            return ["sound:" + await self.speech.sound(text, language, voice)]
        except SpeechError as exc:
            if exc.field == "language":
                raise RecordBlockError("error_msg_invalid_language", exc.message) from None
            status = 503 if exc.unavailable else 422
            raise RecordBlockError(
                "error_msg_cannot_convert_text", exc.message, field="msg", status=status
            ) from None


async def _params(request: web.Request) -> dict[str, Any]:
    """The query (GET) or the body (POST), without app_id / access_token."""
    if request.method == "GET":
        query: dict[str, Any] = {}
        for key in request.query:
            values = request.query.getall(key)
            if len(values) > 1 and key != "dest":  # a repeated dest is a list, as in forms
                raise ApiError.bad_request(f"query parameter {key!r} given more than once")
            query[key] = values if len(values) > 1 else values[0]
        return without_auth_fields(query)
    query_params(request, AUTH_FIELDS)
    return without_auth_fields(await read_body(request))
