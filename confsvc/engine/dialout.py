"""Dial-out (seed 000, Hoiio conference/call): one request calls up to 8 numbers, one
after another, through the SIP trunk, and each answered call joins the room.

    POST /v1/calls {room?, dest...}             the tenant's live room, or a new one
    POST /v1/conferences/{id}/calls {dest...}   that conference
        validate (seed codes) -> allow-list -> room -> in the conference's lane: room
        capacity, the tenant's concurrent-call cap and the rows (queued) in one store
        transaction -> 201 {txn_refs, conference_id, room}
    then in the background, in destination order, each in the conference's lane:
        registered (txn_ref = channel id: events racing the reply find it) -> dialing ->
        POST /channels endpoint=PJSIP/<dest>@<trunk>, app=confsvc, appArgs=dialout,<txn_ref>
        (a refusal ends the call as failed). The next originate starts once Asterisk has
        answered the one before: sequential, as the seed dials; the calls then ring side
        by side, each for its `timeout`.
    what happens next: engine/dialout_events.py.

After a (re)connect `reconcile` runs before the conference reconcile: calls whose channel
is gone are ended (answered if they were, else failed); queued calls this process is not
dialling (a restart) are ended as failed, never dialled late; a call answered while the
controller was away is admitted now. After it, `tidy_rooms` ends the rooms POST /v1/calls
made that nobody uses any more."""

from __future__ import annotations

from typing import Any

import structlog

from confsvc.ari import AriError, Channel
from confsvc.domain import Conference, ConferenceStatus, DomainError, InvalidTransition, RoomTaken
from confsvc.domain.dialout import CallStatus, DialoutCall, create_calls
from confsvc.domain.dialout_rules import (
    HOIIO_ROOM_MAX,
    PRIVATE,
    DialoutError,
    check_allowed,
    check_call_cap,
    check_caller_id,
    check_room_capacity,
    max_calls,
    parse_request,
)
from confsvc.engine import commands
from confsvc.engine.core import EngineCore
from confsvc.engine.dialout_events import DIALOUT_ARG, answered, end_unused_room, finish
from confsvc.engine.lookup import owned_conference
from confsvc.hoiio_apps import parse_caller_ids
from confsvc.outbound.policy import UrlUnresolvable

log = structlog.get_logger(__name__)


async def place(
    core: EngineCore, customer_id: str, body: dict[str, Any], *, conference_id: str | None = None
) -> dict[str, Any]:
    """Validate and queue a request's calls; the dialling runs in the background. Nothing
    is dialled (and no room is left behind) when anything is refused."""
    req = parse_request(body)
    check_allowed(customer_id, req.destinations, core.settings.dialout_allow)
    owned = parse_caller_ids(core.settings.caller_ids).get(customer_id, frozenset())
    check_caller_id(customer_id, req.caller_id, owned)
    await check_notify_url(core, req.notify_url)
    settings = core.settings
    cap = max_calls(customer_id, settings.dialout_max_calls, settings.dialout_tenant_max_calls)
    # Early, so a refused request makes no room; checked again with the insert (atomic).
    check_call_cap(await core.store.count_open_calls(customer_id), len(req.destinations), cap)
    created = False
    if conference_id is not None:
        conf = await owned_conference(core, customer_id, conference_id)
        if req.room is not None and req.room != conf.room:
            raise DialoutError(
                "error_invalid_room", "room is not this conference's room", field="room"
            )
    else:
        conf, created = await room_for(core, customer_id, req.room)

    async def insert() -> list[DialoutCall]:
        current = await owned_conference(core, customer_id, conf.id)
        if current.status is not ConferenceStatus.PROGRESSING:
            raise InvalidTransition("conference", current.status.value, "call out")
        n = len(req.destinations)
        occupied = len(current.conferencecall_ids) + await core.store.count_unjoined_calls(conf.id)
        check_room_capacity(occupied, n, current.capacity)
        calls = create_calls(
            customer_id=customer_id,
            conference_id=conf.id,
            room=conf.room,
            destinations=req.destinations,
            now=core.now(),
            caller_id=req.caller_id,
            tag=req.tag,
            notify_url=req.notify_url,
            timeout=req.timeout,
            room_created=created,
            member_options=req.member_options,
        )
        async with core.store.transaction():
            check_call_cap(await core.store.count_open_calls(customer_id), n, cap)
            for call in calls:
                await core.store.save_call(call)
        core.dialouts.queued.update(c.id for c in calls)
        return calls

    try:
        try:
            calls = await core.lanes.run(conf.id, insert)
        except InvalidTransition:
            if conference_id is not None or created:
                raise
            # The tenant's room ended just now (its last call did): the room is free
            # again, so this request makes it anew, as it would a moment later.
            conf, created = await room_for(core, customer_id, req.room)
            calls = await core.lanes.run(conf.id, insert)
    except DomainError:
        if created:  # the room was made for this request only
            await core.lanes.run(conf.id, lambda: end_unused_room(core, conf.id))
        raise
    core.spawn(dial_in_order(core, conf.id, [c.id for c in calls]))
    log.info("dial-out placed", conference=conf.id, room=conf.room, calls=len(calls))
    return {
        "status": "success_ok",
        "txn_refs": [c.id for c in calls],
        "conference_id": conf.id,
        "room": conf.room,
    }


async def check_notify_url(core: EngineCore, url: str | None) -> None:
    """Resolved now, through the outbound policy: a host that does not resolve is the
    seed's error_unable_to_resolve_notify_url; a refused address 422 url_not_allowed."""
    try:
        await core.outbound.check_all({"notify_url": url})
    except UrlUnresolvable as exc:
        raise DialoutError(
            "error_unable_to_resolve_notify_url", exc.message, field="notify_url"
        ) from None


async def room_for(core: EngineCore, customer_id: str, room: str | None) -> tuple[Conference, bool]:
    """The tenant's live conference with this room, or a new one (room generated when
    omitted; at most HOIIO_ROOM_MAX participants, the seed's room size). (conf, created)."""
    if room is not None:
        conf = await core.store.get_conference_by_room(customer_id, room)
        if conf is not None:
            return conf, False
    try:
        conf = await commands.open_conference(
            core,
            customer_id,
            name=room or "",
            detail="dial-out room",
            max_participants=HOIIO_ROOM_MAX,
            **({"room": room} if room is not None else {}),
        )
    except RoomTaken:  # another request made it meanwhile
        found = await core.store.get_conference_by_room(customer_id, room or "")
        if found is None:
            raise
        return found, False
    return conf, True


async def dial_in_order(core: EngineCore, conference_id: str, txn_refs: list[str]) -> None:
    """Outside any lane: one originate after another, each inside the lane."""
    for txn_ref in txn_refs:
        try:
            await core.lanes.run(conference_id, lambda t=txn_ref: originate(core, t))
        except Exception:
            log.exception("dial-out originate failed", call=txn_ref)
        finally:
            core.dialouts.queued.discard(txn_ref)


def endpoint(core: EngineCore, dest: str) -> str:
    return f"PJSIP/{dest}@{core.settings.trunk_endpoint}"


async def originate(core: EngineCore, txn_ref: str) -> None:
    """In the lane: dial one queued call (or end it when its conference is gone)."""
    call = await core.store.get_call(txn_ref)
    if call is None or call.status is not CallStatus.QUEUED:
        return
    conf = await core.conference(call.conference_id)
    if conf is None or conf.status is not ConferenceStatus.PROGRESSING:
        await finish(core, call, cause_txt="not dialled: the conference has ended")
        return
    core.dialouts.lanes[txn_ref] = conf.id  # before the POST: its events come at once
    call = call.dialing(core.now())
    await core.store.save_call(call)
    private = call.caller_id == PRIVATE
    try:
        await core.ari.originate(
            endpoint(core, call.dest),
            channel_id=txn_ref,
            app_args=[DIALOUT_ARG, txn_ref],
            caller_id=None if private or not call.caller_id else call.caller_id,
            timeout=call.timeout,
            variables={"CALLERID(pres)": "prohib"} if private else None,
        )
    except AriError as exc:
        log.warning("originate refused", call=txn_ref, dest=call.dest, error=str(exc))
        await finish(core, call, cause_txt=f"not dialled: Asterisk refused ({exc.status})")
        return
    log.info("dial-out dialing", call=txn_ref, dest=call.dest, conference=conf.id)


# --- after a (re)connect ---------------------------------------------------------------


async def reconcile(core: EngineCore) -> None:
    """Before reconcile.reconcile (which would refuse a dial-out channel waiting in
    Stasis: its appArgs name no room)."""
    open_calls = await core.store.list_open_calls()
    if not open_calls:
        return
    channels = {c.id: c for c in await core.ari.list_channels()}
    bridged = {ch for b in await core.ari.list_bridges() for ch in b.channels}
    for call in open_calls:
        lane = call.conference_id
        channel = channels.get(call.id)
        if call.status is CallStatus.QUEUED:
            if call.id not in core.dialouts.queued:  # its dialling task died with a restart
                text = "not dialled: the controller restarted"
                core.lanes.fire(lane, lambda c=call, t=text: _end(core, c.id, t), "dial-out")
            continue
        if channel is None:
            text = "the channel ended while the controller was away"
            core.lanes.fire(lane, lambda c=call, t=text: _end(core, c.id, t), "dial-out")
            continue
        core.dialouts.lanes[call.id] = lane
        core.lanes.fire(lane, lambda c=call, ch=channel: _resume(core, c.id, ch), "dial-out")
        if (
            channel.state == "Up"
            and call.conferencecall_id is None
            and channel.id not in bridged
            and channel.id not in core.channels
        ):
            core.admitting[channel.id] = lane  # answered while we were away
            core.lanes.fire(lane, lambda c=call, ch=channel: answered(core, c.id, ch), "adopt")
    await core.lanes.drain()


async def _end(core: EngineCore, txn_ref: str, text: str) -> None:
    call = await core.store.get_call(txn_ref)
    if call is not None and call.is_open:
        await finish(core, call, cause_txt=text)


async def _resume(core: EngineCore, txn_ref: str, channel: Channel) -> None:
    """The channel is still there: catch up with its state."""
    call = await core.store.get_call(txn_ref)
    if call is None or not call.is_open:
        return
    new = call.ringing(core.now()) if channel.state == "Ringing" else call
    if channel.state == "Up":
        new = call.answered(core.now())
    if new is not call:
        await core.store.save_call(new)


async def tidy_rooms(core: EngineCore) -> None:
    """After the conference reconcile: rooms made by POST /v1/calls that nobody uses any
    more (their callers and calls ended while the controller was away) end now."""
    for conf in core.rooms.live_conferences():
        if conf.status is ConferenceStatus.PROGRESSING and not conf.conferencecall_ids:
            core.lanes.fire(conf.id, lambda c=conf.id: end_unused_room(core, c), "tidy")
    await core.lanes.drain()
