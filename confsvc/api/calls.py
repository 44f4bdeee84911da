"""Dial-out (seed 000, Hoiio conference/call): place calls into a room, read their state.

    POST /v1/calls                       {dest | destinations, room?, caller_id?, tag?,
                                          notify_url?, timeout?} -> 201 {status, txn_refs,
                                          conference_id, room}; the room is created when
                                          the tenant has no live one of that name
    POST /v1/conferences/{id}/calls      the same into that conference
    GET  /v1/calls[?conference_id&status] and GET /v1/calls/{txn_ref}

Bodies are JSON objects or form-encoded (the seed's clients post forms; a repeated `dest`
field is a list). Refusals carry the seed's result codes as `error` (engine/dialout.py,
domain/dialout_rules.py)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from confsvc.api.auth import customer_of
from confsvc.api.bodies import json_object
from confsvc.api.errors import ApiError
from confsvc.api.hoiio_auth import AUTH_FIELDS, without_auth_fields
from confsvc.api.lookup import owned
from confsvc.api.member_schemas import MemberOptionsRequest
from confsvc.api.openapi import PAGING_QUERY, QueryParam, Route
from confsvc.api.paging import PAGING_PARAMS, enum_param, envelope, page, query_params
from confsvc.domain.dialout import CallResult, CallStatus
from confsvc.domain.dialout_rules import MAX_DESTINATIONS, RING_TIMEOUT_MAX, TAG_MAX, malformed
from confsvc.engine import Engine

BASE = "/v1/calls"
ITEM = BASE + "/{txn_ref}"
CONF_CALLS = "/v1/conferences/{id}/calls"
TAGS = ("calls",)
_E164 = {"pattern": r"^\+[1-9][0-9]{5,14}$"}


class CallsCreate(BaseModel):
    """What POST /v1/calls takes (documentation: the rules and their error codes are the
    domain's, domain/dialout_rules.py). `dest` (the seed's name) and `destinations` are
    one parameter: a list, or a comma separated string."""

    model_config = ConfigDict(extra="forbid")  # unknown parameters: error_malformed_params

    dest: list[str] | str | None = Field(
        default=None,
        description=f"1-{MAX_DESTINATIONS} E.164 numbers (+ and country code), called in "
        "this order: a list or '+6511111111,+6522222222'. Missing: error_dest_param_missing; "
        "bad: error_dest_invalid; outside the account's allowed prefixes: "
        "error_dest_not_supported (403).",
    )
    destinations: list[str] | str | None = Field(default=None, description="Same as dest.")
    room: str | None = Field(
        default=None,
        description="a-z A-Z 0-9 . _, at most 32, not only dots (error_invalid_room). POST "
        "/v1/calls: the tenant's live conference with this room, else a new one (generated "
        "when omitted); a room live for another tenant is 409 room_in_use.",
    )
    caller_id: str | None = Field(
        default=None, description='E.164 number or "private"; omitted: the trunk\'s own.'
    )
    tag: str | None = Field(
        default=None, json_schema_extra={"maxLength": TAG_MAX}, description="Your reference."
    )
    notify_url: str | None = Field(
        default=None, description="http(s) URL told (form POST) how each call ended."
    )
    timeout: int | None = Field(
        default=None,
        json_schema_extra={"minimum": 1, "maximum": RING_TIMEOUT_MAX},
        description="Seconds each number rings before it counts as unanswered (default 30).",
    )
    member_options: MemberOptionsRequest | None = Field(
        default=None,
        description="Plivo's per-member options for every callee of this request (as PATCH "
        "/v1/conferencecalls/{id} sets them on a dial-in caller); a JSON string in a form. "
        "Omitted or null fields: the conference's defaults.",
    )


class CallsPlaced(BaseModel):
    status: str = Field(description="success_ok")
    txn_refs: list[str] = Field(description="One per destination, in the same order.")
    conference_id: str
    room: str


class Call(BaseModel):
    id: str = Field(description="= txn_ref")
    txn_ref: str = Field(description="Also the Asterisk channel id of the call leg.")
    request_id: str = Field(description="The POST that placed it.")
    customer_id: str
    conference_id: str
    room: str
    dest: str = Field(json_schema_extra=_E164)
    caller_id: str
    tag: str | None
    notify_url: str | None
    timeout: int
    status: CallStatus = Field(description="queued -> dialing -> ringing -> answered -> ended")
    call_status_dest: CallResult | None = Field(description="Set once ended.")
    hangup_cause: int | None = Field(description="Q.850 cause Asterisk reported.")
    hangup_cause_txt: str
    conferencecall_id: str | None = Field(description="Its participant once in the room.")
    member_options: MemberOptionsRequest = Field(description="What the callee joins with.")
    duration: int | None = Field(description="Whole minutes answered, rounded up (ended).")
    duration_ms: int | None = Field(description="Milliseconds answered (ended).")
    tm_create: str
    tm_dial: str | None
    tm_answer: str | None
    tm_end: str | None
    tm_update: str | None


class CallList(BaseModel):
    result: list[Call]
    next_page_token: str | None = Field(description="Pass as page_token; null on the last page.")


class CallRoutes:
    def __init__(self, store: Any, engine: Engine) -> None:
        self.store = store
        self.engine = engine

    def routes(self) -> list[Route]:
        errors = (403, 404, 409, 429, 503)
        return [
            Route(
                "POST",
                BASE,
                self.place,
                "placeCalls",
                "Call up to 8 numbers one after another and put each answered call in the "
                "room (created when the tenant has no live one of that name)",
                CallsPlaced,
                status=201,
                request=CallsCreate,
                forms=True,
                errors=errors,
                tags=TAGS,
            ),
            Route(
                "POST",
                CONF_CALLS,
                self.place_into,
                "placeConferenceCalls",
                "Call up to 8 numbers into this conference",
                CallsPlaced,
                status=201,
                request=CallsCreate,
                forms=True,
                errors=errors,
                tags=TAGS,
            ),
            Route(
                "GET",
                BASE,
                self.list,
                "listCalls",
                "List dial-out calls, newest first",
                CallList,
                query=(
                    *PAGING_QUERY,
                    QueryParam("conference_id", {"type": "string"}, "only this conference's"),
                    QueryParam("status", {"type": "string", "enum": [s.value for s in CallStatus]}),
                ),
                errors=(422,),
                tags=TAGS,
            ),
            Route(
                "GET",
                ITEM,
                self.get,
                "getCall",
                "One dial-out call: its state and, once ended, how it ended",
                Call,
                errors=(404,),
                tags=TAGS,
            ),
        ]

    async def place(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request, AUTH_FIELDS)
        body = without_auth_fields(await read_body(request))
        placed = await self.engine.place_calls(customer, body)
        return web.json_response(placed, status=201)

    async def place_into(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request, AUTH_FIELDS)
        body = without_auth_fields(await read_body(request))
        placed = await self.engine.place_calls(customer, body, request.match_info["id"])
        return web.json_response(placed, status=201)

    async def list(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        params = query_params(request, (*PAGING_PARAMS, "conference_id", "status"))
        status = enum_param(params, "status", CallStatus)
        p = page(params)
        calls, token = await self.store.list_calls(
            customer,
            conference_id=params.get("conference_id"),
            status=status.value if status else None,
            page_size=p.size,
            page_token=p.token,
        )
        return web.json_response(envelope([c.to_json() for c in calls], token))

    async def get(self, request: web.Request) -> web.Response:
        call = await owned(request, self.store.get_call, "call", key="txn_ref")
        return web.json_response(call.to_json())


async def read_body(request: web.Request) -> dict[str, Any]:
    """A JSON object or a form (api/bodies.py); empty = no parameters. Unreadable: 400
    error_malformed_params (the seed's code); another Content-Type: 415."""
    try:
        return await json_object(request, forms=True) or {}
    except ApiError as exc:
        if exc.status != 400:
            raise
        raise malformed(exc.message) from None
