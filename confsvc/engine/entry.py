"""A caller whose role is known enters the room: muted on entry when the options say so
(start_muted, waiting for a moderator), then into the bridge with absorbDTMF (its digits
reach us, not the others). From the admission (no PIN) or an accepted PIN (pin.py)."""

from __future__ import annotations

from confsvc.domain import Conference, Conferencecall
from confsvc.domain.member_options import resolve
from confsvc.domain.moderation import conference_started, initial_mute, stay_alone_turned
from confsvc.domain.options import Role
from confsvc.engine import member, pre_actions
from confsvc.engine.core import EngineCore


async def enter_room(core: EngineCore, conf: Conference, call: Conferencecall, role: Role) -> None:
    call = await settle_entry(core, conf, call, role)
    if conf.pre_actions:  # after the PIN: the actions, then the bridge (pre_actions.py)
        core.spawn(pre_actions.enter(core, conf, call, answered=True))
        return
    await core.ari.add_channel(conf.id, call.reference_id, absorb_dtmf=True)


async def settle_entry(
    core: EngineCore, conf: Conference, call: Conferencecall, role: Role
) -> Conferencecall:
    """In the lane: the caller's role and mute on entry decided and carried out (muted
    before it is in the bridge). What is left is the add-to-bridge."""
    live = core.rooms.live_calls(conf.id)
    own = resolve(conf.options, role, call.member_options)  # Plivo's per-member options
    started = conference_started(conf.options, live, excluding=call.id)
    muted, held = initial_mute(own, started)
    turned = stay_alone_turned(conf, own, core.now())
    unchanged = role is call.role and not call.pin_entry and muted == call.muted and not held
    if not unchanged or turned is not None:
        call, effects = call.entering(role, muted, held, core.now())
        await member.carry_out(core, effects, strict=False, call=call)  # muted before in
        await core.save(turned, call)
    return call
