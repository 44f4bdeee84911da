"""The one tenant-scoped lookup of the engine's commands: a conference or conferencecall of
the caller's tenant, or NotFound (another tenant's looks exactly like a missing one)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

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


class Deletable(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def conference_id(self) -> str: ...

    def check_deletable(self) -> None: ...


D = TypeVar("D", bound=Deletable)


async def delete_owned(
    core: EngineCore,
    kind: str,
    item_id: str,
    get: Callable[[], Awaitable[D | None]],
    remove: Callable[[D], Awaitable[None]],
) -> D:
    """DELETE of a conference's tenant-scoped artefact (a recording, a transcribe): found
    or NotFound, then in its conference's lane found again, refused while in use (409),
    removed."""
    found = await get()
    if found is None:
        raise NotFound(kind, item_id)

    async def in_lane() -> D:
        current = await get()
        if current is None:
            raise NotFound(kind, item_id)
        current.check_deletable()
        await remove(current)
        return current

    return await core.lanes.run(found.conference_id, in_lane)
