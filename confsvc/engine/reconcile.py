"""After every ARI (re)connect and at start-up: Asterisk is the truth for media, the store
for history. Bridges, channels and the store are compared and the store is fixed; events
missed while disconnected are made good (callers who hung up meanwhile become leaved)."""

from __future__ import annotations

import contextlib

import structlog

from confsvc.ari import AriConflict, AriError, Bridge, Channel
from confsvc.domain import (
    Conference,
    ConferencecallStatus,
    ConferenceStatus,
    create_conferencecall,
    timeout_deadline,
)
from confsvc.engine import admission, join, leave, moderation, record, transcribe
from confsvc.engine.core import EngineCore

log = structlog.get_logger(__name__)


async def reconcile(core: EngineCore) -> None:
    await core.rooms.load(core.store)  # at start-up: the live rooms into memory
    bridges = {b.id: b for b in await core.ari.list_bridges()}
    channels = {c.id: c for c in await core.ari.list_channels()}
    known_channels: set[str] = set()
    for conf in core.rooms.live_conferences():
        bridge = bridges.get(conf.id)
        calls = core.rooms.live_calls(conf.id)
        known_channels.update(c.reference_id for c in calls)

        async def fix(conf: Conference = conf, bridge: Bridge | None = bridge) -> None:
            await reconcile_conference(core, conf.id, bridge, channels)

        core.lanes.fire(conf.id, fix, "reconcile")
    # Bridges of ours that no live conference owns (destroy failed, or an old run's).
    live_ids = {c.id for c in core.rooms.live_conferences()}
    for bridge in bridges.values():
        if transcribe.is_leg_bridge(bridge.id):
            continue  # transcription legs: transcribe.reconcile
        if bridge.creator == core.settings.ari_app and bridge.id not in live_ids:
            log.info("destroying stale bridge", bridge=bridge.id, name=bridge.name)
            with contextlib.suppress(AriError):
                await core.ari.destroy_bridge(bridge.id)
    # Callers who entered Stasis while we were away and never got a StasisStart handled.
    in_bridges = {ch for b in bridges.values() for ch in b.channels}
    for ch in channels.values():
        if ch.id in known_channels or ch.id in in_bridges or ch.id in core.channels:
            continue
        room = stasis_room(core, ch)
        if room is not None:
            conference_id = admission.resolve_room(core, room)
            if conference_id is None:
                await core.hangup(ch.id, join.REFUSE_UNKNOWN)  # as a live StasisStart would
            else:
                admission.admit_to(core, conference_id, ch, "adopt")
    # Recordings after conferences: a re-created bridge has no live recording, so the
    # recording it had is finalized from what Asterisk stored.
    await record.reconcile(core)
    await transcribe.reconcile(core)
    await core.lanes.drain()
    log.info("reconciled", bridges=len(bridges), channels=len(channels))


def stasis_room(core: EngineCore, ch: Channel) -> str | None:
    """The room a channel asked for, if it sits in our Stasis app (from its dialplan)."""
    dp = ch.dialplan
    if dp is None or (dp.app_name or "").lower() != "stasis":
        return None
    app, _, room = (dp.app_data or "").partition(",")
    return room if app == core.settings.ari_app and room else None


async def reconcile_conference(
    core: EngineCore, conference_id: str, bridge: Bridge | None, channels: dict[str, Channel]
) -> None:
    conf = await core.conference(conference_id)
    if conf is None or not conf.is_live:
        return
    if bridge is None and conf.status is not ConferenceStatus.TERMINATING:
        # Asterisk lost the bridge (it restarted): the room comes back, its callers are gone.
        with contextlib.suppress(AriConflict):
            await core.ari.create_bridge(conf.id, type=moderation.bridge_type(conf), name=conf.room)
    in_bridge = set(bridge.channels) if bridge else set()
    for call in core.rooms.live_calls(conf.id):
        if call.reference_id not in channels:
            await leave.finish(core, call)  # hung up while we were away
            continue
        if call.status is ConferencecallStatus.LEAVING:
            await core.hangup(call.reference_id)
        elif call.reference_id in in_bridge and call.status is ConferencecallStatus.JOINING:
            await join.entered_bridge(core, conf.id, call.reference_id)
        elif call.pin_entry:
            await moderation.resume_pin(core, call)  # asked again from the start
        elif call.reference_id not in in_bridge:
            with contextlib.suppress(Exception):
                await core.ari.add_channel(conf.id, call.reference_id, absorb_dtmf=True)
    # Channels in the bridge the store does not know (joined while we were away).
    conf = await core.conference(conference_id) or conf
    for ch_id in in_bridge - set(core.channels):
        ch = channels.get(ch_id)
        if ch is None or conf.status is not ConferenceStatus.PROGRESSING:
            continue
        call = create_conferencecall(
            conference_id=conf.id,
            customer_id=conf.customer_id,
            reference_id=ch.id,
            now=core.now(),
            caller_number=(ch.caller.number if ch.caller else "") or "",
            caller_name=(ch.caller.name if ch.caller else "") or "",
        )
        try:
            conf, _ = conf.add_call(call.id, core.now())
        except Exception:
            continue
        call, _ = call.joined(core.now())
        await core.save(conf, call, fresh=True)
    conf = await core.conference(conference_id) or conf
    if conf.status is ConferenceStatus.TERMINATING and not conf.conferencecall_ids:
        conf, effects = conf.finish_terminate(core.now())
        await core.save(conf)
        await core.apply(effects)
    elif conf.status is ConferenceStatus.STARTING:
        conf, effects = conf.start(core.now())
        await core.save(conf)
        await core.apply(effects)
    else:
        core.timers.arm(conf.id, timeout_deadline(conf))
    await moderation.reconciled(core, conference_id)  # time limits, wait sound
