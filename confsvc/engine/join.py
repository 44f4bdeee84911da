"""A caller dials a room: StasisStart -> conferencecall joining -> answer -> into the
conference's bridge -> ChannelEnteredBridge -> joined."""

from __future__ import annotations

import asyncio

import structlog

from confsvc.ari import AriError, Channel
from confsvc.domain import (
    ConferenceFull,
    ConferenceStatus,
    DomainError,
    create_conferencecall,
)
from confsvc.domain.member_options import MemberOptions
from confsvc.domain.options import Role
from confsvc.engine import moderation, pre_actions, record, transcribe
from confsvc.engine.core import EngineCore
from confsvc.engine.entry import settle_entry

log = structlog.get_logger(__name__)

# SIP 404 for a room that does not exist (Q.850 cause 1, "unallocated number").
REFUSE_UNKNOWN = "unallocated"
FULL_MESSAGE = "sound:conf-full"


async def admit(
    core: EngineCore,
    conference_id: str,
    channel: Channel,
    member_options: MemberOptions | None = None,
) -> None:
    """In the conference's lane: record the caller, answer, add to the bridge.
    member_options: Plivo's per-member options it starts with (a dial-out callee's)."""
    try:
        await _admit(core, conference_id, channel, member_options)
    finally:
        core.admitting.pop(channel.id, None)


async def _admit(
    core: EngineCore, conference_id: str, channel: Channel, member_options: MemberOptions | None
) -> None:
    if channel.id in core.channels:
        return  # replayed StasisStart (reconcile after a reconnect)
    conf = await core.conference(conference_id)
    if conf is None or conf.status is not ConferenceStatus.PROGRESSING:
        await core.hangup(channel.id, REFUSE_UNKNOWN)
        return
    caller = channel.caller
    call = create_conferencecall(
        conference_id=conf.id,
        customer_id=conf.customer_id,
        reference_id=channel.id,
        now=core.now(),
        caller_number=(caller.number if caller else "") or "",
        caller_name=(caller.name if caller else "") or "",
        pin_entry=conf.options.needs_pin,  # asked for it before entering (pin.py)
    )
    if member_options is not None and member_options != MemberOptions():
        call = call.set_member(member_options, core.now())
    try:
        conf, effects = conf.add_call(call.id, core.now())
    except ConferenceFull:
        log.info("conference full: caller refused", conference=conf.id, channel=channel.id)
        core.spawn(refuse_full(core, channel.id))
        return
    except DomainError as exc:
        log.info("caller refused", conference=conf.id, channel=channel.id, reason=exc.message)
        await core.hangup(channel.id, REFUSE_UNKNOWN)
        return
    # The store writes behind (store/writer.py): the caller is answered without waiting
    # for the disk. Safe across a crash in between: an answered channel nobody stored is
    # still in Stasis, and reconcile admits it.
    core.save(conf, call, fresh=True)
    await core.apply(effects)
    log.info("conferencecall joining", conference=conf.id, room=conf.room, call=call.id)
    try:
        if call.pin_entry:  # the PIN prompt needs the answer first, and runs in the lane
            await core.answer(channel.id)
            await moderation.admitted(core, conf, call)
            return
        call = await settle_entry(core, conf, call, Role.PARTICIPANT)
    except AriError as exc:
        # Usually the caller hung up meanwhile; its StasisEnd moves the call to leaved.
        log.info("could not bridge caller", call=call.id, error=str(exc))
        return
    # The room's state is settled: the two round trips to Asterisk happen outside the
    # lane, so the room's next caller is admitted meanwhile (a burst into one room no
    # longer queues behind each caller's answer). ChannelEnteredBridge makes it joined.
    if conf.pre_actions:  # answer, the actions, then the bridge (engine/pre_actions.py)
        core.spawn(pre_actions.enter(core, conf, call, answered=False))
        return
    core.spawn(connect(core, conf.id, call.id, channel.id))


async def connect(core: EngineCore, conference_id: str, call_id: str, channel_id: str) -> None:
    """Answer, then add to the bridge. The caller's 200 OK waits only for the answer: sent
    together, the answer can reach the channel after it is bridged and then waits for
    the bridge's mixing cycle (measured: join p50 35 ms instead of ~10 at 1 join/s)."""
    try:
        await core.answer(channel_id)
        await core.ari.add_channel(conference_id, channel_id, absorb_dtmf=True)
    except AriError as exc:
        # Usually the caller hung up meanwhile; its StasisEnd moves the call to leaved.
        log.info("could not bridge caller", call=call_id, error=str(exc))


async def entered_bridge(core: EngineCore, conference_id: str, channel_id: str) -> None:
    call = core.rooms.call_of_channel(channel_id)
    if call is None or call.conference_id != conference_id or call.status.value != "joining":
        return
    call, effects = call.joined(core.now())
    core.save(None, call)
    await core.apply(effects)
    log.info("conferencecall joined", conference=conference_id, call=call.id)
    await moderation.on_joined(core, conference_id, call)  # sounds, floor, time limit...
    # `record: true`: the first caller to join starts the recording.
    await record.auto_start(core, conference_id)
    await transcribe.on_joined(core, conference_id, call)  # `transcribe: true`, or a leg


async def refuse_full(core: EngineCore, channel_id: str, timeout: float = 8.0) -> None:
    """Answer, play a short 'conference is full' message, hang up (outside any lane)."""
    try:
        await core.answer(channel_id)
        playback_id = f"full-{channel_id}"
        waiter = core.expect_playback(playback_id)
        await core.ari.play_on_channel(channel_id, FULL_MESSAGE, playback_id=playback_id)
        await asyncio.wait_for(waiter, timeout)
    except (AriError, TimeoutError) as exc:
        log.info("full message not played", channel=channel_id, error=str(exc))
    finally:
        await core.hangup(channel_id, "normal")
