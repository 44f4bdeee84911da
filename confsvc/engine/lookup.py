"""The one tenant-scoped lookup of the engine's commands: a conference or conferencecall of
the caller's tenant, or NotFound (another tenant's looks exactly like a missing one)."""

from __future__ import annotations

from confsvc.domain import Conference, Conferencecall
from confsvc.engine.core import EngineCore
from confsvc.engine.errors import NotFound


async def owned_conference(core: EngineCore, customer_id: str, conference_id: str) -> Conference:
    conf = await core.conference(conference_id, customer_id)
    if conf is None:
        raise NotFound("conference", conference_id)
    return conf


async def owned_call(core: EngineCore, customer_id: str, call_id: str) -> Conferencecall:
    call = await core.conferencecall(call_id, customer_id)
    if call is None:
        raise NotFound("conferencecall", call_id)
    return call
