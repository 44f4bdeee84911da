"""A caller is removed by us: the API's DELETE /conferencecalls/{id}, a KickCall effect
(conference termination, connect type), a time limit, `*` with hangup_on_star.
joining|joined -> leaving and the channel is hung up; the leave events make it leaved."""

from __future__ import annotations

from confsvc.domain import Conferencecall
from confsvc.engine.core import EngineCore
from confsvc.engine.lookup import owned_call


async def kick(core: EngineCore, customer_id: str, call_id: str) -> Conferencecall:
    """The API's kick: refusals (already leaving or leaved: 409) raise."""
    call = await owned_call(core, customer_id, call_id)

    async def in_lane() -> Conferencecall:
        kicked = await kick_in_lane(core, call_id, strict=True)
        return kicked if kicked is not None else await owned_call(core, customer_id, call_id)

    return await core.lanes.run(call.conference_id, in_lane)


async def kick_in_lane(core: EngineCore, call_id: str, *, strict: bool) -> Conferencecall | None:
    """Inside the call's lane. Not strict (effects, timers): a call already on its way out
    is left alone."""
    call = await core.conferencecall(call_id)
    if call is None:
        return None
    if not strict and not call.is_kickable:
        return call
    call, effects = call.kick(core.now())
    await core.save(None, call)
    await core.apply(effects)
    return call
