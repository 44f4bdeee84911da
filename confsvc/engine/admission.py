"""A dialled channel finds its room: StasisStart (or a channel reconcile finds waiting in
Stasis) -> the room's conference, from memory -> join.admit in that conference's lane."""

from __future__ import annotations

import structlog

from confsvc.ari import Channel, StasisStart
from confsvc.domain import ConferenceStatus, DomainError, is_valid_room
from confsvc.engine import commands, join
from confsvc.engine.core import EngineCore

log = structlog.get_logger(__name__)

STARTING = ConferenceStatus.STARTING


def stasis_start(core: EngineCore, event: StasisStart) -> None:
    channel = event.channel
    if channel.id in core.channels:
        return
    room = event.args[0] if event.args else ""
    conference_id = resolve_room(core, room)
    if conference_id is None:
        log.info("dialled room not found", room=room, channel=channel.id)
        # In a lane of its own: the event consumer never waits for Asterisk's reply.
        core.lanes.fire(channel.id, lambda: core.hangup(channel.id, join.REFUSE_UNKNOWN), "refuse")
        return
    conf = core.rooms.conference(conference_id)
    if conf is not None and conf.status is STARTING and channel.id not in core.admitting:
        # A room being brought up (auto-create): its caller's 200 OK does not wait for the
        # store and the new bridge; the admission bridges it once answered (join.connect).
        # Only then: in a live room the admission answers at once anyway, and answering
        # every caller of a burst ahead of its lane only piles requests on Asterisk.
        core.answer_early(channel.id)
    admit_to(core, conference_id, channel, "admit")


def admit_to(core: EngineCore, conference_id: str, channel: Channel, what: str) -> None:
    # Known before the admission runs, so a hangup racing it is routed to the same lane
    # (and handled after it) instead of being dropped.
    core.admitting[channel.id] = conference_id
    core.lanes.fire(conference_id, lambda: join.admit(core, conference_id, channel), what)


def resolve_room(core: EngineCore, room: str) -> str | None:
    """Dial-in names a room but no tenant: the id of its conference (from memory), or None.
    One live conference with that room: it. None: auto-create when configured (the Plivo
    way), else refuse. Several tenants using the same room: refused, as a dial-in cannot
    tell them apart. An auto-created room is brought up inside its own lane: the router
    never waits for it, so no other room's events wait either."""
    if not is_valid_room(room):
        return None
    found = core.rooms.by_room(room)
    if len(found) == 1:
        return found[0].id
    if len(found) > 1:
        log.warning("room is ambiguous across tenants", room=room, count=len(found))
        return None
    if not core.settings.auto_create_rooms:
        return None
    try:
        conf = commands.new_conference(core, core.settings.auto_create_customer, room)
    except DomainError as exc:
        log.warning("auto-create failed", room=room, error=exc.message)
        return None
    core.lanes.fire(conf.id, lambda: commands.bring_up_new(core, conf), "auto-create")
    return conf.id
