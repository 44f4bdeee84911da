"""A caller is removed by us: the API's DELETE /conferencecalls/{id}, a KickCall effect
(conference termination, connect type), a time limit, `*` with hangup_on_star.
joining|joined -> leaving and the channel is hung up; the leave events make it leaved."""

from __future__ import annotations

import asyncio

from confsvc.domain import Conferencecall
from confsvc.engine import post_actions
from confsvc.engine.core import EngineCore
from confsvc.engine.lookup import owned_call


async def kick(core: EngineCore, customer_id: str, call_id: str) -> Conferencecall:
    """The API's kick: refusals (already leaving or leaved: 409) raise. The hangup goes
    out at once; the answer waits for the commit, outside the lane (the room's other work
    does not wait for the disk)."""
    call = await owned_call(core, customer_id, call_id)

    async def in_lane() -> tuple[Conferencecall | None, asyncio.Future[None] | None]:
        return await _kick(core, call_id, strict=True)

    kicked, committed = await core.lanes.run(call.conference_id, in_lane)
    if committed is not None:
        await committed
    return kicked if kicked is not None else await owned_call(core, customer_id, call_id)


async def kick_in_lane(core: EngineCore, call_id: str, *, strict: bool) -> Conferencecall | None:
    """Inside the call's lane, not waiting for the commit (as an ARI-driven change). Not
    strict (effects, timers): a call already on its way out is left alone."""
    kicked, _ = await _kick(core, call_id, strict=strict)
    return kicked


async def _kick(
    core: EngineCore, call_id: str, *, strict: bool
) -> tuple[Conferencecall | None, asyncio.Future[None] | None]:
    call = await core.conferencecall(call_id)
    if call is None:
        return None, None
    if not strict and not call.is_kickable:
        return call, None
    call, effects = call.kick(core.now())
    committed = core.save(None, call)
    if not post_actions.take_over(core, call):  # post_actions hang up after playing
        await core.apply(effects)  # the hangup: the caller hears the BYE before the disk
    return call, committed
