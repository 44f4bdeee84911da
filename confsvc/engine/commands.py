"""What the API (and timers) ask of the engine: create, update, end conferences, kick.
Each runs in the conference's lane; reads go straight to the store elsewhere."""

from __future__ import annotations

from typing import Any

import structlog

from confsvc.ari import AriError
from confsvc.domain import (
    Conference,
    DomainError,
    create_conference,
)
from confsvc.domain.actions import action_urls, validate_actions
from confsvc.domain.hooks import hook_changes
from confsvc.engine import moderation
from confsvc.engine.core import EngineCore
from confsvc.engine.errors import AsteriskUnavailable
from confsvc.engine.lookup import owned_conference
from confsvc.engine.terminate import terminate

log = structlog.get_logger(__name__)


async def open_conference(core: EngineCore, customer_id: str, **fields: Any) -> Conference:
    """The API's create: validate, store (room uniqueness), then bring it up in its lane."""
    ceiling = core.settings.max_participants
    conf = create_conference(customer_id=customer_id, now=core.now(), ceiling=ceiling, **fields)
    o = conf.options
    await core.outbound.check_all(
        {
            "notify_url": conf.notify_url,
            "callback_url": conf.callback_url,
            "transcription_url": conf.transcription_url,
            "enter_sound": o.enter_sound,
            "exit_sound": o.exit_sound,
            "wait_sound": o.wait_sound,
            **action_urls(conf.pre_actions, "pre_actions"),
            **action_urls(conf.post_actions, "post_actions"),
        }
    )  # 422 url_not_allowed before anything is stored
    await core.writer.flush()  # a room that has just ended may still be live on disk
    await core.store.create_conference(conf)
    core.rooms.remember(conf)
    return await core.lanes.run(conf.id, lambda: bring_up(core, conf))


def new_conference(core: EngineCore, customer_id: str, room: str) -> Conference:
    """A dialled room that does not exist yet (auto-create): validated and known in memory
    at once, so the next caller of the room is routed to the same lane; stored and brought
    up by bring_up_new inside that lane."""
    conf = create_conference(customer_id=customer_id, now=core.now(), name=room, room=room)
    core.rooms.remember(conf)
    return conf


async def bring_up_new(core: EngineCore, conf: Conference) -> None:
    try:
        await core.store.create_conference(conf)
    except DomainError as exc:  # e.g. the API took the room meanwhile
        log.warning("auto-create failed", room=conf.room, error=exc.message)
        core.rooms.remember(conf.terminate_now(core.now())[0])
        return
    await bring_up(core, conf)


async def bring_up(core: EngineCore, conf: Conference) -> Conference:
    """In the conference's lane: make the ARI bridge (id = conference id, name = room, so
    `bridge show all` shows rooms), then progressing. The id exists before any ARI call, so
    an event racing the reply finds it."""
    try:
        await core.ari.create_bridge(conf.id, type=moderation.bridge_type(conf), name=conf.room)
    except AriError as exc:
        closed, _ = conf.terminate_now(core.now())
        await core.save(closed)
        raise AsteriskUnavailable(f"could not create the conference bridge: {exc}") from exc
    started, effects = conf.start(core.now())
    await core.save(started)
    await core.apply(effects)
    log.info("conference progressing", conference=conf.id, room=conf.room)
    return started


async def update_conference(
    core: EngineCore, customer_id: str, conference_id: str, **changes: Any
) -> Conference:
    await owned_conference(core, customer_id, conference_id)
    # The outbound policy on new URLs, outside the lane (DNS); their form first.
    urls = {k: changes[k] for k in ("notify_url", "callback_url") if k in changes}
    await core.outbound.check_all(hook_changes(**urls))
    for field in ("pre_actions", "post_actions"):  # play URLs, their form first
        if field in changes:
            await core.outbound.check_all(
                action_urls(validate_actions(changes[field], field), field)
            )

    async def change() -> Conference:
        conf = await owned_conference(core, customer_id, conference_id)
        conf, effects = conf.update(core.now(), **changes)
        await core.save(conf)
        await core.apply(effects)
        return conf

    return await core.lanes.run(conference_id, change)


async def delete_conference(core: EngineCore, customer_id: str, conference_id: str) -> Conference:
    """-> terminating, everyone kicked; terminated when the last one has left (or at once
    when nobody is inside)."""
    await owned_conference(core, customer_id, conference_id)

    async def end() -> Conference:
        conf = await owned_conference(core, customer_id, conference_id)
        return await terminate(core, conf)

    return await core.lanes.run(conference_id, end)
