"""Plivo's Conference REST shape (seed 004) on top of the same engine, same tenant auth.

    GET    /v1/Account/{auth_id}/Conference/                      {api_id, conferences}
    DELETE /v1/Account/{auth_id}/Conference/                      204, every room ends
    GET    /v1/Account/{auth_id}/Conference/{name}/               details with members
    DELETE /v1/Account/{auth_id}/Conference/{name}/               204, the room ends
    DELETE .../Conference/{name}/Member/{member_id}/              204, hang up
    POST   .../Member/{member_id}/Kick/                           202, hang up
    POST | DELETE .../Member/{member_id}/Mute/ | Deaf/            202 | 204
    POST | DELETE .../Member/{member_id}/Play/  ({"url": ...})    202 | 204
    POST | DELETE .../Member/{member_id}/Speak/ ({"text", "voice", "language"})  202 | 204
    POST | DELETE .../Conference/{name}/Record/ ({"file_format"})  202 | 204
A conference name is the room; auth_id must be the authenticated account (else 404
account_not_found). Parameters Plivo's SDKs send that confsvc has no use for (IGNORED) are
accepted and ignored, in the query or the body (plivo_base.py). member_id: a conferencecall
id, a comma list of them, or `all` (the callers in the room). With `callback_url` (query or
body; callback_method POST default or GET) the call answers 202 {api_id, message} at once
and its result is sent to the URL as form fields api_id, status (the HTTP status it would
have had) and response (the JSON body: the seed's "json format in the response field")."""

from __future__ import annotations

import contextlib
import time
from typing import Any
from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel

from confsvc.api import member_schemas as ms
from confsvc.api.errors import ApiError, Handler
from confsvc.api.openapi import QueryParam, Route
from confsvc.api.plivo_base import PlivoBase
from confsvc.domain import Conference, Conferencecall, ConferenceStatus, InvalidTransition
from confsvc.domain.options import validate_media
from confsvc.engine.media import check_media
from confsvc.engine.record import RECORDINGS_URL
from confsvc.speech import SpeechError
from confsvc.speech import check as speech_check

ROOT = "/v1/Account/{auth_id}/Conference/"
NAMED = ROOT + "{name}/"
MEMBER = NAMED + "Member/{member_id}/"
TAGS = ("plivo",)
ASYNC_QUERY = (
    QueryParam("callback_url", {"type": "string"}, "run asynchronously, POST the result here"),
    QueryParam("callback_method", {"type": "string", "enum": ["POST", "GET"]}),
)


class PlivoRoutes(PlivoBase):
    def routes(self) -> list[Route]:
        def r(
            method: str,
            path: str,
            handler: Handler,
            op: str,
            summary: str,
            response: type[BaseModel] | None,
            **kw: Any,
        ) -> Route:
            kw.setdefault("errors", (404, 409, 422, 503))
            if method != "GET":  # GET takes the query only
                kw.setdefault("request", ms.PlivoCallback)
                kw.setdefault("request_required", False)
                kw["forms"] = True
            return Route(
                method, path, handler, op, summary, response, query=ASYNC_QUERY, tags=TAGS,
                also=((202, ms.PlivoAsync),), **kw,
            )  # fmt: skip

        result = ms.PlivoMemberResult
        return [
            r("GET", ROOT, self.list, "plivoListConferences", "Live conferences (names)",
              ms.PlivoConferenceList, errors=(404, 422)),
            r("DELETE", ROOT, self.hangup_all, "plivoHangupAll", "End every conference",
              None, status=204),
            r("GET", NAMED, self.details, "plivoGetConference", "A conference and its members",
              ms.PlivoConference, errors=(404, 422)),
            r("DELETE", NAMED, self.hangup, "plivoHangupConference", "End a conference",
              None, status=204),
            r("DELETE", MEMBER, self.member_hangup, "plivoHangupMember", "Hang members up",
              None, status=204),
            r("POST", MEMBER + "Kick/", self.member_kick, "plivoKickMember", "Kick members",
              result, status=202),
            r("POST", MEMBER + "Mute/", self.mute, "plivoMuteMember", "Mute members",
              result, status=202),
            r("DELETE", MEMBER + "Mute/", self.unmute, "plivoUnmuteMember", "Unmute members",
              None, status=204),
            r("POST", MEMBER + "Deaf/", self.deaf, "plivoDeafMember", "Deafen members",
              result, status=202),
            r("DELETE", MEMBER + "Deaf/", self.undeaf, "plivoUndeafMember", "Undeafen members",
              None, status=204),
            r("POST", MEMBER + "Play/", self.play, "plivoPlayMember", "Play to members",
              result, status=202, request=ms.PlivoPlay, request_required=True),
            r("DELETE", MEMBER + "Play/", self.stop_play, "plivoStopPlayMember",
              "Stop playing to members", None, status=204),
            r("POST", MEMBER + "Speak/", self.speak, "plivoSpeakMember", "Speak text to members",
              result, status=202, request=ms.PlivoSpeak, request_required=True),
            r("DELETE", MEMBER + "Speak/", self.stop_speak, "plivoStopSpeakMember",
              "Stop speaking (and playing) to members", None, status=204),
            r("POST", NAMED + "Record/", self.record, "plivoRecordConference",
              "Start recording a conference", ms.PlivoRecord, status=202,
              request=ms.PlivoRecordStart),
            r("DELETE", NAMED + "Record/", self.record_stop, "plivoStopRecordConference",
              "Stop recording a conference", None, status=204),
        ]  # fmt: skip

    # --- conferences -----------------------------------------------------------------

    async def list(self, request: web.Request) -> web.Response:
        customer, params = await self._params(request)

        async def work(api_id: str) -> tuple[int, dict[str, Any]]:
            names: list[str] = []
            token: str | None = None
            while True:
                page, token = await self.store.list_conferences(
                    customer, status=ConferenceStatus.PROGRESSING, page_size=100, page_token=token
                )
                names += [c.room for c in page]
                if token is None:
                    break
            return 200, {"api_id": api_id, "conferences": names}

        return await self._answer(request, params, work)

    async def details(self, request: web.Request) -> web.Response:
        customer, params = await self._params(request)

        async def work(api_id: str) -> tuple[int, dict[str, Any]]:
            conf = await self._conference(customer, request.match_info["name"])
            members = await self._in_room(conf)
            now = time.time()
            return 200, {
                "conference_name": conf.room,
                "conference_run_time": str(int(now - conf.tm_create.timestamp())),
                "conference_member_count": str(len(members)),
                "members": [member_json(conf, c, now) for c in members],
                "api_id": api_id,
            }

        return await self._answer(request, params, work)

    async def _end(self, customer: str, conf: Conference) -> None:
        with contextlib.suppress(InvalidTransition):  # already ending: nothing to do
            await self.engine.delete_conference(customer, conf.id)

    async def hangup_all(self, request: web.Request) -> web.Response:
        customer, params = await self._params(request)

        async def work(api_id: str) -> tuple[int, dict[str, Any]]:
            live = await self.store.list_live_conferences()
            for conf in (c for c in live if c.customer_id == customer):
                await self._end(customer, conf)
            return 204, {"message": "all conferences hung up", "api_id": api_id}

        return await self._answer(request, params, work)

    async def hangup(self, request: web.Request) -> web.Response:
        customer, params = await self._params(request)

        async def work(api_id: str) -> tuple[int, dict[str, Any]]:
            await self._end(customer, await self._conference(customer, request.match_info["name"]))
            return 204, {"message": "conference hung up", "api_id": api_id}

        return await self._answer(request, params, work)

    async def member_hangup(self, request: web.Request) -> web.Response:
        return await self._each(request, "hangup", 204, lambda cu, c: self.engine.kick(cu, c.id))

    async def member_kick(self, request: web.Request) -> web.Response:
        return await self._each(request, "kicked", 202, lambda cu, c: self.engine.kick(cu, c.id))

    async def mute(self, request: web.Request) -> web.Response:
        e = self.engine
        return await self._each(request, "muted", 202, lambda cu, c: e.set_muted(cu, c.id, True))

    async def unmute(self, request: web.Request) -> web.Response:
        e = self.engine
        return await self._each(request, "unmuted", 204, lambda cu, c: e.set_muted(cu, c.id, False))

    async def deaf(self, request: web.Request) -> web.Response:
        e = self.engine
        return await self._each(request, "deaf", 202, lambda cu, c: e.set_deaf(cu, c.id, True))

    async def undeaf(self, request: web.Request) -> web.Response:
        e = self.engine
        return await self._each(request, "undeaf", 204, lambda cu, c: e.set_deaf(cu, c.id, False))

    async def play(self, request: web.Request) -> web.Response:
        media: dict[str, str] = {}

        async def check(params: dict[str, Any]) -> None:
            if "url" not in params:
                raise ApiError.invalid_field("url", "is required")
            media["url"] = validate_media(params["url"], "url", allow_empty=False)
            await check_media(self.engine.outbound, "url", media["url"])

        return await self._each(
            request,
            "play queued into conference",
            202,
            lambda cu, c: self.engine.play(cu, c.id, media["url"]),
            body_fields=("url",),
            check=check,
        )

    async def stop_play(self, request: web.Request) -> web.Response:
        e = self.engine
        return await self._each(request, "play stopped", 204, lambda cu, c: e.stop_play(cu, c.id))

    async def speak(self, request: web.Request) -> web.Response:
        sound: dict[str, str] = {}

        async def check(params: dict[str, Any]) -> None:
            if self.speech is None:
                raise ApiError(503, "speech_unavailable", "speech is not set up on this server")
            try:
                args = speech_check(
                    params.get("text"),
                    params.get("language", "en-US"),
                    params.get("voice", "WOMAN"),
                )
                sound["name"] = await self.speech.sound(*args)
            except SpeechError as exc:
                if exc.unavailable:
                    raise ApiError(503, "speech_unavailable", exc.message) from exc
                raise ApiError.invalid_field(exc.field, exc.message) from exc

        return await self._each(
            request,
            "speak queued into conference",
            202,
            lambda cu, c: self.engine.play(cu, c.id, sound["name"]),
            body_fields=("text", "voice", "language"),
            check=check,
        )

    async def stop_speak(self, request: web.Request) -> web.Response:
        e = self.engine
        return await self._each(request, "speak stopped", 204, lambda cu, c: e.stop_play(cu, c.id))

    # --- conference recording ----------------------------------------------------------

    async def record(self, request: web.Request) -> web.Response:
        customer, params = await self._params(request, ("file_format",))
        fmt = params.get("file_format", "mp3")  # Plivo's default
        if fmt not in ("mp3", "wav"):
            raise ApiError.invalid_field("file_format", "must be mp3 or wav")

        async def work(api_id: str) -> tuple[int, dict[str, Any]]:
            conf = await self._conference(customer, request.match_info["name"])
            conf = await self.engine.start_recording(customer, conf.id, format=fmt)
            rid = conf.recording_id or ""
            return 202, {
                "api_id": api_id,
                "message": "conference recording started",
                "recording_id": rid,
                "url": f"{RECORDINGS_URL}/{rid}/file",
            }

        return await self._answer(request, params, work)

    async def record_stop(self, request: web.Request) -> web.Response:
        customer, params = await self._params(request)

        async def work(api_id: str) -> tuple[int, dict[str, Any]]:
            conf = await self._conference(customer, request.match_info["name"])
            await self.engine.stop_recording(customer, conf.id)
            return 204, {"message": "conference recording stopped", "api_id": api_id}

        return await self._answer(request, params, work)


def member_json(conf: Conference, call: Conferencecall, now: float) -> dict[str, Any]:
    joined = call.tm_join or call.tm_create
    return {
        "muted": call.muted,
        "member_id": call.id,
        "deaf": call.deaf,
        "from": call.caller.number,
        "to": conf.room,
        "caller_name": quote(call.caller.name),
        "direction": "inbound",
        "call_uuid": call.reference_id,
        "join_time": str(max(0, int(now - joined.timestamp()))),
    }
