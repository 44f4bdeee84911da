"""Member operations on /v1/conferencecalls/{id}: mute, deaf, play (engine/member.py).

    POST   .../mute   the caller is not heard      DELETE .../mute   heard again
    POST   .../deaf   the caller hears nothing     DELETE .../deaf   hears again
    POST   .../play   {"media": ...} to this caller only     DELETE .../play   stop it
    PATCH | POST /v1/conferencecalls/{id}   Plivo's per-member options, before it joins
Each answers the conferencecall (200). 404 for an unknown or another tenant's id, 409
once the call is leaving/leaved (play: unless joined), 422 for a bad media value."""

from __future__ import annotations

from aiohttp import web

from confsvc.api import schemas
from confsvc.api.auth import customer_of
from confsvc.api.bodies import json_body, json_object
from confsvc.api.errors import Handler
from confsvc.api.member_schemas import MemberOptionsRequest, PlayRequest
from confsvc.api.openapi import Route
from confsvc.api.paging import query_params
from confsvc.api.schemas import NoFields
from confsvc.engine import Engine

ITEM = "/v1/conferencecalls/{id}"
TAGS = ("conferencecalls",)


class MemberRoutes:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def routes(self) -> list[Route]:
        def route(method: str, action: str, handler: Handler, op: str, summary: str) -> Route:
            play = (method, action) == ("POST", "play")  # the others take no fields
            return Route(
                method,
                f"{ITEM}/{action}",
                handler,
                op,
                summary,
                schemas.Conferencecall,
                request=PlayRequest if play else NoFields,
                request_required=play,
                errors=(404, 409) if play else (404, 409, 503),
                tags=TAGS,
            )

        return [
            route("POST", "mute", self.mute, "muteConferencecall", "Mute: others stop hearing it"),
            route("DELETE", "mute", self.unmute, "unmuteConferencecall", "Unmute"),
            route("POST", "deaf", self.deaf, "deafConferencecall", "Deafen: it hears nothing"),
            route("DELETE", "deaf", self.undeaf, "undeafConferencecall", "Undeafen"),
            route(
                "POST",
                "play",
                self.play,
                "playToConferencecall",
                "Play a sound, beep:1|beep:2 or an http(s) URL to this caller only",
            ),
            route("DELETE", "play", self.stop_play, "stopPlayToConferencecall", "Stop playing"),
            *(
                Route(
                    method,
                    ITEM,
                    self.set_options,
                    op,
                    "Set Plivo's per-member options of a call not yet in the room",
                    schemas.Conferencecall,
                    request=MemberOptionsRequest,
                    forms=True,
                    errors=(404, 409, 422),
                    tags=TAGS,
                )
                for method, op in (
                    ("PATCH", "setConferencecallOptions"),
                    ("POST", "postConferencecallOptions"),
                )
            ),
        ]

    async def _empty(self, request: web.Request) -> str:
        """The tenant; the body may be empty or `{}`, the query only ?token."""
        customer = customer_of(request)
        query_params(request)
        await json_body(request, NoFields, optional=True)
        return customer

    async def _set(self, request: web.Request, what: str, on: bool) -> web.Response:
        customer = await self._empty(request)
        call_id = request.match_info["id"]
        if what == "muted":
            call = await self.engine.set_muted(customer, call_id, on)
        else:
            call = await self.engine.set_deaf(customer, call_id, on)
        return web.json_response(call.to_json())

    async def mute(self, request: web.Request) -> web.Response:
        return await self._set(request, "muted", True)

    async def unmute(self, request: web.Request) -> web.Response:
        return await self._set(request, "muted", False)

    async def deaf(self, request: web.Request) -> web.Response:
        return await self._set(request, "deaf", True)

    async def undeaf(self, request: web.Request) -> web.Response:
        return await self._set(request, "deaf", False)

    async def play(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        body = await json_body(request, PlayRequest)
        call = await self.engine.play(customer, request.match_info["id"], body.media)
        return web.json_response(call.to_json())

    async def stop_play(self, request: web.Request) -> web.Response:
        customer = await self._empty(request)
        call = await self.engine.stop_play(customer, request.match_info["id"])
        return web.json_response(call.to_json())

    async def set_options(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        body = await json_object(request, forms=True) or {}
        for key in ("start_conference_on_enter", "end_conference_on_exit", "stay_alone",
                    "muted", "redirect"):  # fmt: skip
            if body.get(key) in ("true", "false"):  # a form's booleans
                body[key] = body[key] == "true"
        call = await self.engine.set_member_options(customer, request.match_info["id"], body)
        return web.json_response(call.to_json())
