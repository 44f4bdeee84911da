"""PIN entry for rooms with `pin` / `moderator_pin` (rules: domain/moderation.py).

The caller is admitted (conferencecall `joining`, pin_entry), answered and kept in
Stasis outside the bridge. "conf-getpin" is played; each ChannelDtmfReceived is routed
to the conference's lane (dtmf.py -> digit()); `#` or a pause submits. The right PIN
moves the caller into the room with its role (entry.enter_room); a wrong one plays
"conf-invalidpin" and asks again; the third wrong one plays it and hangs up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from confsvc.ari import AriError, AriNotFound
from confsvc.domain import Conference, Conferencecall
from confsvc.domain.moderation import NO_INPUT_SECONDS, PinAccepted, PinEntry
from confsvc.engine.core import EngineCore
from confsvc.engine.entry import enter_room

log = structlog.get_logger(__name__)

GET_PIN = "sound:conf-getpin"
INVALID_PIN = "sound:conf-invalidpin"
GOODBYE_TIMEOUT = 8.0


async def start(core: EngineCore, call: Conferencecall) -> None:
    """Inside the lane, the caller answered: ask for the PIN (also after a restart)."""
    core.members.pins[call.id] = PinEntry()
    await _prompt(core, call, [GET_PIN])
    _arm(core, call.id, NO_INPUT_SECONDS)
    log.info("asking for the pin", call=call.id, conference=call.conference_id)


def _arm(core: EngineCore, call_id: str, seconds: float) -> None:
    core.members.pin_timers.arm(call_id, core.now() + timedelta(seconds=seconds))


async def _prompt(core: EngineCore, call: Conferencecall, media: list[str]) -> None:
    playback_id = core.members.next_id("pin", call.id)
    core.members.prompts[call.id] = playback_id
    try:
        await core.ari.play_on_channel(call.reference_id, media, playback_id=playback_id)
    except AriError as exc:  # usually the caller hung up: its leave events follow
        log.info("pin prompt not played", call=call.id, error=str(exc))


async def _stop_prompt(core: EngineCore, call_id: str) -> None:
    playback_id = core.members.prompts.pop(call_id, None)
    if playback_id is None:
        return
    try:
        await core.ari.stop_playback(playback_id)
    except AriNotFound:
        pass  # it had finished
    except AriError as exc:
        log.info("pin prompt not stopped", call=call_id, error=str(exc))


async def digit(core: EngineCore, call: Conferencecall, digit: str) -> None:
    """One DTMF digit of a caller entering its PIN (inside the lane)."""
    entry = core.members.pins.get(call.id)
    if entry is None:
        return  # entry over (e.g. being hung up after the third wrong PIN)
    if not entry.digits:
        await _stop_prompt(core, call.id)  # typing interrupts the prompt
    entry, submit_now = entry.press(digit)
    core.members.pins[call.id] = entry
    if submit_now:
        await submit(core, call.id)
    else:
        _arm(core, call.id, entry.timeout_seconds())


async def timed_out(core: EngineCore, call_id: str) -> None:
    """A pause: what was typed is submitted (nothing typed: an empty entry)."""
    if call_id in core.members.pins:
        await submit(core, call_id)


async def submit(core: EngineCore, call_id: str) -> None:
    call = await core.conferencecall(call_id)
    entry = core.members.pins.get(call_id)
    if call is None or entry is None or not call.pin_entry or not call.is_kickable:
        return
    conf = await core.conference(call.conference_id)
    if conf is None:
        return
    core.members.pin_timers.cancel(call_id)
    entry, outcome = entry.submit(conf.options)
    if isinstance(outcome, PinAccepted):
        core.members.pins.pop(call_id, None)
        await _stop_prompt(core, call_id)
        log.info("pin accepted", call=call_id, role=outcome.role.value, conference=conf.id)
        await enter_room(core, conf, call, outcome.role)
        return
    log.info("wrong pin", call=call_id, failures=outcome.failures, conference=conf.id)
    if outcome.final:
        core.members.pins.pop(call_id, None)
        await _stop_prompt(core, call_id)
        core.spawn(_goodbye(core, conf, call))
        return
    core.members.pins[call_id] = entry
    await _stop_prompt(core, call_id)
    await _prompt(core, call, [INVALID_PIN, GET_PIN])
    _arm(core, call_id, NO_INPUT_SECONDS)


async def _goodbye(core: EngineCore, conf: Conference, call: Conferencecall) -> None:
    """Outside the lane: "that pin is invalid", then hang up (the leave events follow)."""
    playback_id = core.members.next_id("pinbye", call.id)
    waiter = core.expect_playback(playback_id)
    try:
        await core.ari.play_on_channel(call.reference_id, INVALID_PIN, playback_id=playback_id)
        await asyncio.wait_for(waiter, GOODBYE_TIMEOUT)
    except (AriError, TimeoutError) as exc:
        log.info("invalid-pin message not played", call=call.id, error=str(exc))
    finally:
        waiter.cancel()
        log.info("too many wrong pins: hanging up", call=call.id, conference=conf.id)
        await core.hangup(call.reference_id, "normal")
