"""DTMF from callers (ChannelDtmfReceived, routed by channel into the conference lane).

Callers are added to the bridge with absorbDTMF, so digits never pass through the mix;
the controller decides what they do:
    - a caller entering its PIN: the PIN (pin.py);
    - `*` with hangup_on_star: the caller leaves the room (kicked: leaving -> leaved);
    - digits_match: when the caller's recent digits end with a pattern, the event
      `conferencecall_digits` ({...conferencecall JSON, "digits": pattern});
    - relay_dtmf: every digit (except that `*`) is sent to each other caller in the room
      (POST /channels/{id}/dtmf). Digits are relayed as they are pressed, so the digits
      of a matching pattern are relayed too."""

from __future__ import annotations

import structlog

from confsvc.ari import AriError
from confsvc.domain import ConferencecallStatus
from confsvc.domain.moderation import DigitBuffer
from confsvc.engine import pin, record_block
from confsvc.engine.core import EngineCore
from confsvc.engine.kick import kick_in_lane

log = structlog.get_logger(__name__)


async def received(core: EngineCore, channel_id: str, digit: str) -> None:
    call_id = core.channels.get(channel_id)
    call = await core.conferencecall(call_id) if call_id else None
    if call is None or not call.is_kickable:
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
        for other in core.rooms.live_calls(conf.id):
            if other.id == call.id or other.status is not ConferencecallStatus.JOINED:
                continue
            try:
                await core.ari.send_dtmf(other.reference_id, digit)
            except AriError as exc:
                log.info("dtmf not relayed", call=other.id, error=str(exc))
