"""DTMF from callers (ChannelDtmfReceived, routed by channel into the conference lane).

Callers are added to the bridge with absorbDTMF, so digits never pass through the mix;
the controller decides what they do:
    - a caller entering its PIN: the PIN (pin.py);
    - `*` with hangup_on_star: the caller leaves the room (kicked: leaving -> leaved);
    - digits_match: when the caller's recent digits end with a pattern, the event
      `conferencecall_digits` ({...conferencecall JSON, "digits": pattern});
    - relay_dtmf: every digit except those of a digits_match pattern (seed 003: "Transmit
      all digits except digitsMatch") and except that `*` is sent to each other caller in
      the room (POST /channels/{id}/dtmf). Digits that may still become a pattern are held
      back (domain/member_options.relay_split) and relayed once they cannot, or after a
      pause of DIGITS_MATCH_GAP."""

from __future__ import annotations

import asyncio

import structlog

from confsvc.ari import AriError
from confsvc.domain import ConferencecallStatus
from confsvc.domain.member_options import relay_split
from confsvc.domain.moderation import DIGITS_MATCH_GAP, DigitBuffer
from confsvc.engine import pin, record_block
from confsvc.engine.core import EngineCore
from confsvc.engine.kick import kick_in_lane

log = structlog.get_logger(__name__)


async def received(core: EngineCore, channel_id: str, digit: str) -> None:
    call_id = core.channels.get(channel_id)
    call = await core.conferencecall(call_id) if call_id else None
    if call is None or not call.is_kickable:
        return
    if (waiting := core.action_digits.get(call.id)) is not None:  # digits_receive action
        waiting.put_nowait(digit)
        return
    if call.pin_entry:
        await pin.digit(core, call, digit)
        return
    if call.status is not ConferencecallStatus.JOINED:
        return
    if digit == "#" and await record_block.hash_pressed(core, call.id):
        return  # `#` ends the caller's Record block (seed 002)
    conf = await core.conference(call.conference_id)
    if conf is None:
        return
    opts = conf.options
    if digit == "*" and opts.hangup_on_star:
        log.info("caller pressed * to leave", call=call.id, conference=conf.id)
        await kick_in_lane(core, call.id, strict=False)
        return
    buffer = core.members.digits.get(call.id, DigitBuffer())
    buffer, matched = buffer.press(digit, opts.patterns, core.now())
    core.members.digits[call.id] = buffer
    if matched is not None:
        log.info("digits matched", call=call.id, conference=conf.id, digits=matched)
        # Not a state change (nothing stored): published directly.
        core.bus.emit(
            "conferencecall_digits", call.customer_id, {**call.to_json(), "digits": matched}
        )
    if opts.relay_dtmf:
        held = core.members.relay_held.get(call.id, "")
        now, held = relay_split(held, digit, opts.patterns)
        core.members.relay_held[call.id] = held
        if held:
            _flush_later(core, conf.id, call.id, held)
        await _relay(core, conf.id, call.id, now)


async def _relay(core: EngineCore, conference_id: str, call_id: str, digits: str) -> None:
    """Send `digits` to every other caller in the room."""
    if not digits:
        return
    for other in core.rooms.live_calls(conference_id):
        if other.id == call_id or other.status is not ConferencecallStatus.JOINED:
            continue
        try:
            await core.ari.send_dtmf(other.reference_id, digits)
        except AriError as exc:
            log.info("dtmf not relayed", call=other.id, error=str(exc))


def _flush_later(core: EngineCore, conference_id: str, call_id: str, held: str) -> None:
    """After a pause the held digits will not become a pattern: relay them (in the lane),
    unless more digits came meanwhile."""

    async def flush() -> None:
        if core.members.relay_held.get(call_id) == held:
            core.members.relay_held[call_id] = ""
            await _relay(core, conference_id, call_id, held)

    loop = asyncio.get_running_loop()
    loop.call_later(
        DIGITS_MATCH_GAP.total_seconds(), core.lanes.fire, conference_id, flush, "dtmf relay"
    )
