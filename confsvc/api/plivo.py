"""Plivo's Conference REST shape (seed 004) on top of the same engine, same tenant auth.

    GET    /v1/Account/{auth_id}/Conference/                      {api_id, conferences}
    DELETE /v1/Account/{auth_id}/Conference/                      204, every room ends
    GET    /v1/Account/{auth_id}/Conference/{name}/               details with members
    DELETE /v1/Account/{auth_id}/Conference/{name}/               204, the room ends
    DELETE .../Conference/{name}/Member/{member_id}/              204, hang up
    POST   .../Member/{member_id}/Kick/                           202, hang up
    POST | DELETE .../Member/{member_id}/Mute/ | Deaf/            202 | 204
    POST | DELETE .../Member/{member_id}/Play/  ({"url": ...})    202 | 204
A conference name is the room; auth_id must be the token's tenant (else 404
account_not_found). member_id: a conferencecall id, a comma list of them, or `all` (the
callers in the room). With `callback_url` (query or body; callback_method POST default or
GET) the call answers 202 {api_id, message} at once and its result is sent to the URL as
form fields api_id, status (the HTTP status it would have had) and response (the JSON
body: the seed's "json format in the response field")."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import structlog
from aiohttp import web
from pydantic import BaseModel
from yarl import URL

from confsvc.api import member_schemas as ms
from confsvc.api.auth import basic_auth_id, customer_of
from confsvc.api.bodies import json_object
from confsvc.api.errors import ApiError, Handler, from_domain
from confsvc.api.openapi import QueryParam, Route
from confsvc.api.paging import query_params
from confsvc.api.plivo_accounts import PlivoAccount, auth_ids_of
from confsvc.domain import (
    Conference,
    Conferencecall,
    ConferencecallStatus,
    ConferenceStatus,
    DomainError,
    InvalidTransition,
    new_id,
)
from confsvc.domain.options import validate_media, validate_url
from confsvc.engine import Engine, NotFound
from confsvc.engine.media import check_media
from confsvc.outbound import OutboundClient, UrlNotAllowed
from confsvc.store.base import Store

log = structlog.get_logger(__name__)

ROOT = "/v1/Account/{auth_id}/Conference/"
NAMED = ROOT + "{name}/"
MEMBER = NAMED + "Member/{member_id}/"
TAGS = ("plivo",)
CALLBACK_TIMEOUT = 10.0
ASYNC_QUERY = (
    QueryParam("callback_url", {"type": "string"}, "run asynchronously, POST the result here"),
    QueryParam("callback_method", {"type": "string", "enum": ["POST", "GET"]}),
)
Work = Callable[[str], Awaitable[tuple[int, dict[str, Any]]]]


class PlivoRoutes:
    def __init__(
        self, store: Store, engine: Engine, accounts: Mapping[str, PlivoAccount] | None = None
    ) -> None:
        self.store = store
        self.engine = engine
        self.accounts = accounts or {}
        self._tasks: set[asyncio.Task[None]] = set()
        # callback_url requests: the outbound policy, no redirects, bounded answers.
        self.http = OutboundClient(engine.outbound, timeout=CALLBACK_TIMEOUT)

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
        ]  # fmt: skip

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.close()

    # --- request plumbing ------------------------------------------------------------

    async def _params(self, request: web.Request, body_fields: tuple[str, ...] = ()) -> Any:
        """(tenant, params): query and body (JSON object or form) merged; the account must
        be the token's tenant."""
        customer = customer_of(request)
        if request.match_info["auth_id"] not in self._accounts_of(request, customer):
            raise NotFound("account", request.match_info["auth_id"])
        params: dict[str, Any] = dict(query_params(request, ("callback_url", "callback_method")))
        # Each spelling is checked where it is given: a body value must not hide a bad
        # query value (the request as a whole would be half valid).
        _check_callback_method(params)
        # GET takes its parameters in the query only (a GET body has no defined meaning).
        body = None if request.method == "GET" else await json_object(request, forms=True)
        for key, value in (body or {}).items():
            if key not in (*body_fields, "callback_url", "callback_method"):
                raise ApiError.invalid_field(key, "unknown field")
            params[key] = value
        return customer, params

    def _accounts_of(self, request: web.Request, customer: str) -> frozenset[str]:
        """The {auth_id}s this request may name: the Plivo account it authenticated with
        (Basic), or for a Bearer token the tenant's name and its Plivo accounts."""
        basic = basic_auth_id(request)
        if basic is not None:
            return frozenset((basic,))
        return auth_ids_of(self.accounts, customer) | {customer}

    async def _answer(self, params: dict[str, Any], work: Work) -> web.Response:
        api_id = new_id()
        url = params.get("callback_url")
        method = _check_callback_method(params)
        if url:
            validate_url(url, "callback_url")
            await self.engine.outbound.check("callback_url", url)  # 422 url_not_allowed
            task = asyncio.get_running_loop().create_task(
                self._run_async(api_id, url, method, work)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return web.json_response({"api_id": api_id, "message": "async api spawned"}, status=202)
        status, body = await work(api_id)
        if status == 204:
            return web.Response(status=204)
        return web.json_response(body, status=status)

    async def _run_async(self, api_id: str, url: str, method: str, work: Work) -> None:
        try:
            status, body = await work(api_id)
        except DomainError as exc:
            err = from_domain(exc)
            status, body = err.status, {**err.body(), "api_id": api_id}
        except ApiError as exc:
            status, body = exc.status, {**exc.body(), "api_id": api_id}
        except Exception:
            log.exception("plivo async call failed", api_id=api_id)
            status, body = 500, {"error": "internal_error", "api_id": api_id}
        fields = {"api_id": api_id, "status": str(status), "response": json.dumps(body)}
        headers: dict[str, str] = {}
        data = b""
        if method == "GET":
            url = str(URL(url).extend_query(fields))
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            data = urlencode(fields).encode()
        try:
            code = await self.http.send(method, url, headers, data)
            log.info("plivo callback sent", api_id=api_id, status=code)
        except (aiohttp.ClientError, OSError, UrlNotAllowed) as exc:  # OSError: timeouts too
            log.warning("plivo callback failed", api_id=api_id, error=str(exc))

    # --- lookups ---------------------------------------------------------------------

    async def _conference(self, customer: str, name: str) -> Conference:
        conf = await self.store.get_conference_by_room(customer, name)
        if conf is None:
            raise NotFound("conference", name)
        return conf

    async def _in_room(self, conf: Conference) -> list[Conferencecall]:
        calls = await self.store.list_live_conferencecalls(conf.id)
        return [c for c in calls if c.status is ConferencecallStatus.JOINED]

    async def _members(self, request: web.Request, customer: str) -> list[Conferencecall]:
        conf = await self._conference(customer, request.match_info["name"])
        members = await self._in_room(conf)
        wanted = request.match_info["member_id"]
        if wanted == "all":
            return members
        ids = list(dict.fromkeys(m.strip() for m in wanted.split(",") if m.strip()))
        by_id = {c.id: c for c in members}
        for member_id in ids or [wanted]:
            if member_id not in by_id:
                raise NotFound("conferencecall", member_id)
        return [by_id[i] for i in ids]

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

        return await self._answer(params, work)

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

        return await self._answer(params, work)

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

        return await self._answer(params, work)

    async def hangup(self, request: web.Request) -> web.Response:
        customer, params = await self._params(request)

        async def work(api_id: str) -> tuple[int, dict[str, Any]]:
            await self._end(customer, await self._conference(customer, request.match_info["name"]))
            return 204, {"message": "conference hung up", "api_id": api_id}

        return await self._answer(params, work)

    # --- members ---------------------------------------------------------------------

    async def _each(
        self,
        request: web.Request,
        message: str,
        status: int,
        act: Callable[[str, Conferencecall], Awaitable[Any]],
        body_fields: tuple[str, ...] = (),
        check: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    ) -> web.Response:
        customer, params = await self._params(request, body_fields)
        if check is not None:
            await check(params)

        async def work(api_id: str) -> tuple[int, dict[str, Any]]:
            members = await self._members(request, customer)
            for call in members:
                # A member that left meanwhile has nothing left to do.
                with contextlib.suppress(InvalidTransition, NotFound):
                    await act(customer, call)
            ids = [c.id for c in members]
            return status, {"message": message, "member_id": ids, "api_id": api_id}

        return await self._answer(params, work)

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


def _check_callback_method(params: dict[str, Any]) -> str:
    """POST (the default) or GET; refused with or without a callback_url."""
    method = str(params.get("callback_method", "POST")).upper()
    if method not in ("POST", "GET"):
        raise ApiError.invalid_field("callback_method", "must be POST or GET")
    return method
