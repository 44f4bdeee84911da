"""A dial-out call's ARI events, and its end (engine/dialout.py places the calls).

    ChannelStateChange Ringing / Up      -> ringing / answered (tm_answer)
    StasisStart(args dialout,<txn_ref>)  -> admitted to the room like a dial-in caller
                                            (join.admit), caller number = the destination;
                                            the conferencecall is linked to the call
    ChannelHangupRequest                 -> its cause is kept (the leave path runs as usual)
    ChannelDestroyed                     -> ended: result from Up seen / cause / ring time;
                                            call_ended event + the notify_url row, stored
                                            with the call's end in one transaction
    BridgeDestroyed (the conference)     -> calls still ringing are hung up (unanswered)

Everything that changes a call runs in its conference's lane, behind the originate that
made it (so an event racing the originate's reply waits for it)."""

from __future__ import annotations

import msgspec
import structlog

from confsvc.ari import (
    BridgeDestroyed,
    CallerId,
    Channel,
    ChannelDestroyed,
    ChannelHangupRequest,
    ChannelStateChange,
    Event,
    StasisStart,
)
from confsvc.domain import ConferenceStatus
from confsvc.domain.dialout import CallStatus, DialoutCall
from confsvc.engine import join
from confsvc.engine.core import EngineCore
from confsvc.engine.terminate import terminate
from confsvc.events.dialout import notify_delivery
from confsvc.store.base import Store

log = structlog.get_logger(__name__)

DIALOUT_ARG = "dialout"  # appArgs of our originates: dialout,<txn_ref>
EVENT_ENDED = "call_ended"


async def route(core: EngineCore, event: Event) -> bool:
    """Called by router.route first. True: the event was a dial-out's and is handled."""
    state = core.dialouts
    match event:
        case StasisStart(args=args) if len(args) >= 2 and args[0] == DIALOUT_ARG:
            await stasis_start(core, event.channel, args[1])
            return True
        case ChannelStateChange(channel=ch) if ch.id in state.lanes:
            fire(core, ch.id, "dial-out state", lambda: state_changed(core, ch.id, ch.state))
            return True
        case ChannelHangupRequest(channel=ch) if ch.id in state.lanes:
            if event.cause:
                state.causes[ch.id] = event.cause
            return False  # an admitted call's leave path needs it too
        case ChannelDestroyed(channel=ch) if ch.id in state.lanes:
            cause, text = event.cause, event.cause_txt
            fire(core, ch.id, "dial-out ended", lambda: destroyed(core, ch.id, cause, text))
            return True
        case BridgeDestroyed(bridge=bridge):
            for txn_ref, lane in list(state.lanes.items()):
                if lane == bridge.id:
                    fire(core, txn_ref, "dial-out cancel", lambda t=txn_ref: cancel(core, t))
    return False


def fire(core: EngineCore, txn_ref: str, what: str, work: object) -> None:
    lane = core.dialouts.lanes.get(txn_ref)
    if lane is not None:
        core.lanes.fire(lane, work, what)  # type: ignore[arg-type]


async def stasis_start(core: EngineCore, channel: Channel, txn_ref: str) -> None:
    if channel.id in core.channels:
        return  # replayed (reconcile after a reconnect)
    lane = core.dialouts.lanes.get(txn_ref) if channel.id == txn_ref else None
    if lane is None:
        # Not one this process is dialling: a call placed before a restart, or a stranger.
        call = await core.store.get_call(txn_ref) if channel.id == txn_ref else None
        if call is None or not call.is_open:
            log.info("unknown dial-out channel refused", channel=channel.id)
            await core.hangup(channel.id)
            return
        lane = core.dialouts.lanes[txn_ref] = call.conference_id
    core.admitting[channel.id] = lane  # a hangup racing the admission goes to the lane
    core.lanes.fire(lane, lambda: answered(core, txn_ref, channel), "dial-out answered")


async def answered(core: EngineCore, txn_ref: str, channel: Channel) -> None:
    """In the lane: the callee picked up and the channel is in Stasis: into the room."""
    call = await core.store.get_call(txn_ref)
    if call is None or not call.is_open or call.conferencecall_id is not None:
        core.admitting.pop(channel.id, None)
        if call is None or not call.is_open:
            await core.hangup(channel.id)
        return
    call = await _save(core, call, call.answered(core.now()))
    # The room sees the callee as the caller: its number is the destination dialled.
    callee = msgspec.structs.replace(channel, caller=CallerId(number=call.dest, name=""))
    # refusals hang the channel up; the callee starts with the request's member options
    await join.admit(core, call.conference_id, callee, call.member_options)
    conferencecall_id = core.channels.get(channel.id)
    if conferencecall_id is not None:
        await _save(core, call, call.joined(conferencecall_id, core.now()))
        log.info("dial-out joined", call=txn_ref, conferencecall=conferencecall_id)


async def state_changed(core: EngineCore, txn_ref: str, state: str) -> None:
    call = await core.store.get_call(txn_ref)
    if call is None or not call.is_open:
        return
    if state == "Ringing":
        await _save(core, call, call.ringing(core.now()))
    elif state == "Up":
        await _save(core, call, call.answered(core.now()))


async def destroyed(core: EngineCore, txn_ref: str, cause: int, cause_txt: str) -> None:
    call = await core.store.get_call(txn_ref)
    if call is None:
        core.dialouts.forget(txn_ref)
        return
    # ChannelDestroyed has the final cause; a 0 there leaves the hangup request's.
    effective = cause or core.dialouts.causes.get(txn_ref)
    cancelled = txn_ref in core.dialouts.cancelled
    await finish(core, call, cause=effective, cause_txt=cause_txt, cancelled=cancelled)


async def cancel(core: EngineCore, txn_ref: str) -> None:
    """The conference is gone: stop ringing (an answered call is refused by admit)."""
    call = await core.store.get_call(txn_ref)
    if call is not None and call.status in (CallStatus.DIALING, CallStatus.RINGING):
        core.dialouts.cancelled.add(txn_ref)
        await core.hangup(txn_ref)


async def finish(
    core: EngineCore,
    call: DialoutCall,
    *,
    cause: int | None = None,
    cause_txt: str = "",
    cancelled: bool = False,
) -> DialoutCall:
    """In the lane: ended with its result; the call_ended event and the seed's
    notification to notify_url are stored in the same transaction (the outbox sends it)."""
    ended = call.ended(core.now(), cause=cause, cause_txt=cause_txt, cancelled=cancelled)
    core.dialouts.forget(call.id)
    if ended is call:
        return call

    async def write(tx: Store) -> None:
        await tx.save_call(ended)
        event = await core.bus.journal.emit(tx, EVENT_ENDED, ended.customer_id, ended.to_json())
        delivery = notify_delivery(event, ended)
        if delivery is not None:
            await tx.add_delivery(delivery)

    # Through the writer: behind the room's own queued changes (the caller who left).
    await core.writer.submit(write)
    log.info(
        "dial-out ended",
        call=ended.id,
        dest=ended.dest,
        result=ended.result.value if ended.result else None,
        cause=cause,
        duration_ms=ended.duration_ms,
    )
    await end_unused_room(core, ended.conference_id)
    return ended


async def end_unused_room(core: EngineCore, conference_id: str) -> None:
    """In the lane: a room POST /v1/calls created ends once nobody is in it and none of
    its calls is still open (the Hoiio way: a room lives while it is used)."""
    conf = await core.conference(conference_id)
    if conf is None or conf.status is not ConferenceStatus.PROGRESSING or conf.conferencecall_ids:
        return
    if await core.store.list_open_calls(conference_id):
        return
    if not await core.store.room_made_by_dialout(conference_id):
        return
    log.info("dial-out room unused: ending it", conference=conference_id, room=conf.room)
    await terminate(core, conf)


async def _save(core: EngineCore, old: DialoutCall, new: DialoutCall) -> DialoutCall:
    if new is not old:
        await core.store.save_call(new)
    return new
