"""The plumbing of the Plivo-shaped routes (plivo.py): the account check, parameters from
query and body (the SDKs' IGNORED ones dropped), the synchronous or asynchronous answer
(callback_url: the result is sent there later, signed with Plivo's V3 signature when the
tenant has a Plivo account), and the conference / member lookups."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp
import structlog
from aiohttp import web
from yarl import URL

from confsvc.api.auth import basic_auth_id, customer_of
from confsvc.api.bodies import json_object
from confsvc.api.errors import ApiError, from_domain
from confsvc.api.paging import query_params
from confsvc.domain import (
    Conference,
    Conferencecall,
    ConferencecallStatus,
    DomainError,
    InvalidTransition,
    new_id,
)
from confsvc.domain.options import validate_url
from confsvc.engine import Engine, NotFound
from confsvc.events import plivo_signature
from confsvc.outbound import OutboundClient, UrlNotAllowed
from confsvc.plivo_accounts import PlivoAccount, auth_ids_of, signing_token
from confsvc.speech import Speech
from confsvc.store.base import Store

log = structlog.get_logger(__name__)

CALLBACK_TIMEOUT = 10.0
# Sent by Plivo's SDKs, meaningless here: the path's own values echoed (conference_name,
# member_id) and Record's transcription options (no transcription service).
IGNORED = (
    "conference_name",
    "member_id",
    "transcription_type",
    "transcription_url",
    "transcription_method",
)
Work = Callable[[str], Awaitable[tuple[int, dict[str, Any]]]]


class PlivoBase:
    def __init__(
        self,
        store: Store,
        engine: Engine,
        accounts: Mapping[str, PlivoAccount] | None = None,
        speech: Speech | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.accounts = accounts or {}
        self.speech = speech
        self._tasks: set[asyncio.Task[None]] = set()
        # callback_url requests: the outbound policy, no redirects, bounded answers.
        self.http = OutboundClient(engine.outbound, timeout=CALLBACK_TIMEOUT)

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
        query = query_params(request, ("callback_url", "callback_method", *IGNORED))
        params: dict[str, Any] = {k: v for k, v in query.items() if k not in IGNORED}
        # Each spelling is checked where it is given: a body value must not hide a bad
        # query value (the request as a whole would be half valid).
        _check_callback_method(params)
        # GET takes its parameters in the query only (a GET body has no defined meaning).
        body = None if request.method == "GET" else await json_object(request, forms=True)
        for key, value in (body or {}).items():
            if key in IGNORED:
                # Ignored, but still what the document says: a string (or null).
                if value is not None and not isinstance(value, str):
                    raise ApiError.invalid_field(key, "must be a string")
                continue
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

    async def _answer(
        self, request: web.Request, params: dict[str, Any], work: Work
    ) -> web.Response:
        api_id = new_id()
        token = signing_token(self.accounts, customer_of(request), basic_auth_id(request))
        url = params.get("callback_url")
        method = _check_callback_method(params)
        if url:
            validate_url(url, "callback_url")
            await self.engine.outbound.check("callback_url", url)  # 422 url_not_allowed
            task = asyncio.get_running_loop().create_task(
                self._run_async(api_id, url, method, work, token)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return web.json_response({"api_id": api_id, "message": "async api spawned"}, status=202)
        status, body = await work(api_id)
        if status == 204:
            return web.Response(status=204)
        return web.json_response(body, status=status)

    async def _run_async(
        self, api_id: str, url: str, method: str, work: Work, token: str | None
    ) -> None:
        """token: the Plivo auth_token the result is signed with (V3), None: unsigned."""
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
        headers = plivo_signature.sign(token, method, url, fields) if token else {}
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

        return await self._answer(request, params, work)


def _check_callback_method(params: dict[str, Any]) -> str:
    """POST (the default) or GET; refused with or without a callback_url."""
    method = str(params.get("callback_method", "POST")).upper()
    if method not in ("POST", "GET"):
        raise ApiError.invalid_field("callback_method", "must be POST or GET")
    return method
