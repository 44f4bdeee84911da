"""A caller goes: hangup request / left the bridge -> leaving; StasisEnd -> leaved, and the
conference learns it (connect type ends, a terminating conference finishes)."""

from __future__ import annotations

import structlog

from confsvc.domain import Conferencecall, ConferencecallStatus
from confsvc.engine import moderation, transcribe
from confsvc.engine.core import EngineCore

log = structlog.get_logger(__name__)
S = ConferencecallStatus


async def leaving(core: EngineCore, channel_id: str, *, hangup: bool) -> None:
    """The caller is on its way out. hangup: it left the bridge without hanging up (someone
    removed it): a dial-in caller outside its room has nowhere to be, so end the call."""
    call = core.rooms.call_of_channel(channel_id)
    if call is None or not call.is_kickable:
        return
    call = call.leaving(core.now())  # the channel is already going: no eject needed
    core.save(None, call)
    if hangup:
        await core.hangup(call.reference_id)


async def leaved(core: EngineCore, channel_id: str) -> None:
    """The channel has left Stasis for good."""
    core.answers.pop(channel_id, None)  # an early answer its admission never took
    call = core.rooms.call_of_channel(channel_id)
    if call is not None:
        await finish(core, call)


async def finish(core: EngineCore, call: Conferencecall) -> None:
    """-> leaved (through leaving when needed, states only move forward), then tell the
    conference in the same transaction and carry out what follows from it."""
    if call.is_kickable:
        call = call.leaving(core.now())
        core.save(None, call)
    call, _ = call.leaved(core.now())
    conf = await core.conference(call.conference_id)
    effects = []
    if conf is not None:
        conf, effects = conf.remove_call(call.id, core.now())
    core.save(conf, call)  # leaved: memory forgets the call
    log.info("conferencecall leaved", conference=call.conference_id, call=call.id)
    await transcribe.on_leaved(core, call)  # its transcription leg, if any
    await core.apply(effects)
    await moderation.after_leave(core, call)  # exit sound, moderator exit, stay_alone...
