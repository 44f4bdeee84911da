"""Conference options at work (seed 003), hooked into the join and leave flows. Every
function runs inside the conference's lane; the rules are in domain/moderation.py.

    admitted      after answer: PIN entry (pin.py) or straight into the room
    enter_room    role known: muted on entry (start_muted / waiting for a moderator),
                  then into the bridge with absorbDTMF (digits reach us, not the others)
    on_joined     in the bridge: talk detection, time limit, enter sound, a moderator
                  releases the waiting participants, wait sound
    after_leave   leaved: exit sound, floor, end_on_moderator_exit / stay_alone, the last
                  moderator gone puts the participants back on hold, wait sound
The wait sound plays to the whole bridge: music on hold (POST /bridges/{id}/moh) or an
http(s) URL played over and over (POST /bridges/{id}/play, again on PlaybackFinished)."""

from __future__ import annotations

from datetime import timedelta

import structlog

from confsvc.ari import AriError, AriNotFound
from confsvc.domain import Conference, Conferencecall, ConferencecallStatus, ConferenceStatus
from confsvc.domain.moderation import (
    ends_after_leave,
    initial_mute,
    moderator_present,
    wanted_wait_sound,
)
from confsvc.domain.options import Role, is_url
from confsvc.engine import member, pin
from confsvc.engine.core import EngineCore
from confsvc.engine.media import check_media, media_uris
from confsvc.outbound import UrlNotAllowed

log = structlog.get_logger(__name__)
S = ConferencecallStatus


def bridge_type(conf: Conference) -> str:
    """ARI bridge type. With DTMF options also dtmf_events: otherwise Asterisk may bridge
    two callers natively (RTP relayed as is: DTMF passes straight to the other caller and
    no ChannelDtmfReceived reaches us; seen on this project's runtime)."""
    o = conf.options
    return "mixing,dtmf_events" if o.hangup_on_star or o.digits_match or o.relay_dtmf else "mixing"


async def admitted(core: EngineCore, conf: Conference, call: Conferencecall) -> None:
    """The caller was admitted and answered. AriError from add_channel propagates to
    join.admit, which logs it (the caller usually hung up)."""
    if call.pin_entry:
        await pin.start(core, call)
    else:
        await enter_room(core, conf, call, Role.PARTICIPANT)


async def enter_room(core: EngineCore, conf: Conference, call: Conferencecall, role: Role) -> None:
    live = core.rooms.live_calls(conf.id)
    muted, held = initial_mute(conf.options, role, moderator_present(live, excluding=call.id))
    unchanged = role is call.role and not call.pin_entry and muted == call.muted and not held
    if not unchanged:
        call, effects = call.entering(role, muted, held, core.now())
        await member.carry_out(core, effects, strict=False, call=call)  # muted before in
        await core.save(None, call)
    await core.ari.add_channel(conf.id, call.reference_id, absorb_dtmf=True)


async def on_joined(core: EngineCore, conference_id: str, call: Conferencecall) -> None:
    conf = await core.conference(conference_id)
    if conf is None:
        return
    opts = conf.options
    if opts.floor_events:
        try:  # ChannelTalkingStarted / ChannelTalkingFinished from now on
            await core.ari.set_channel_var(call.reference_id, "TALK_DETECT(set)", "")
        except AriError as exc:
            log.info("talk detection not set", call=call.id, error=str(exc))
    arm_time_limit(core, conf, call)
    if opts.enter_sound:
        await _play_to_room(core, conf.id, opts.enter_sound, "enter")
    if call.role is Role.MODERATOR and opts.wait_for_moderator:
        await _for_each_live(core, conf.id, release=True)
    await refresh_wait_sound(core, conf.id)


def arm_time_limit(core: EngineCore, conf: Conference, call: Conferencecall) -> None:
    if conf.options.time_limit > 0 and call.tm_join is not None:
        deadline = call.tm_join + timedelta(seconds=conf.options.time_limit)
        core.members.time_limits.arm(call.id, deadline)


async def time_limit_reached(core: EngineCore, call_id: str) -> None:
    call = await core.conferencecall(call_id)
    if call is not None and call.is_kickable:
        log.info("time limit reached: caller removed", call=call_id)
        await core.kick_inside_lane(call_id, strict=False)


async def after_leave(core: EngineCore, call: Conferencecall) -> None:
    """`call` just became leaved and its conference no longer holds it."""
    core.members.forget_call(call.id)
    conf = await core.conference(call.conference_id)
    if conf is None:
        return
    released = conf.release_floor(call.id, core.now())
    if released is not conf:
        conf = released
        await core.save(conf)
    if not conf.is_live:
        core.members.forget_conference(conf.id)
        return
    opts = conf.options
    in_room = not call.pin_entry and call.tm_join is not None
    if opts.exit_sound and in_room and conf.status is ConferenceStatus.PROGRESSING:
        if conf.conferencecall_ids:
            await _play_to_room(core, conf.id, opts.exit_sound, "exit")
    if ends_after_leave(conf, call):
        from confsvc.engine.commands import terminate

        log.info("conference ends with this leave", conference=conf.id, call=call.id)
        await terminate(core, conf)
        return
    progressing = conf.status is ConferenceStatus.PROGRESSING
    if call.role is Role.MODERATOR and opts.wait_for_moderator and progressing:
        live = core.rooms.live_calls(conf.id)
        if not moderator_present(live):
            await _for_each_live(core, conf.id, release=False)
    await refresh_wait_sound(core, conf.id)


async def _for_each_live(core: EngineCore, conference_id: str, *, release: bool) -> None:
    """release: a moderator came, held participants are heard again. Else: the last
    moderator left, the participants in the room wait (muted) again."""
    for c in core.rooms.live_calls(conference_id):
        if c.pin_entry or (not release and c.role is not Role.PARTICIPANT):
            continue
        new, effects = c.release(core.now()) if release else c.hold(core.now())
        if new is not c:
            await member.carry_out(core, effects, strict=False, call=c)
            await core.save(None, new)


async def _play_to_room(core: EngineCore, conference_id: str, media: str, what: str) -> None:
    playback_id = core.members.next_id(what, conference_id)
    try:
        await check_media(core.outbound, f"{what}_sound", media)
        await core.ari.play_on_bridge(conference_id, media_uris(media), playback_id=playback_id)
    except (AriError, UrlNotAllowed) as exc:
        log.info(f"{what} sound not played", conference=conference_id, error=str(exc))


# --- wait sound ------------------------------------------------------------------------


async def refresh_wait_sound(core: EngineCore, conference_id: str, *, force: bool = False) -> None:
    """Play what the room should play while callers wait or one is alone, or stop it.
    force (after a reconcile): what Asterisk plays is unknown, so act even without a
    change."""
    conf = await core.conference(conference_id)
    if conf is None:
        return
    uses_wait = bool(conf.options.wait_sound or conf.options.wait_for_moderator)
    if not uses_wait and conference_id not in core.members.wait:
        return
    live = core.rooms.live_calls(conference_id)
    wanted = wanted_wait_sound(conf, live) or ""
    playing = core.members.wait.get(conference_id, "")
    if wanted == playing and not force:
        return
    if playing or (force and uses_wait):
        await _stop_wait(core, conference_id, playing)
    core.members.wait[conference_id] = wanted
    if wanted:
        await _start_wait(core, conference_id, wanted)
        log.info("wait sound playing", conference=conference_id, sound=wanted)


async def _start_wait(core: EngineCore, conference_id: str, sound: str) -> None:
    try:
        if is_url(sound):
            # Refused: nothing is played, so no PlaybackFinished starts it again.
            await check_media(core.outbound, "wait_sound", sound)
            playback_id = core.members.next_id("wait", conference_id)
            core.members.wait_playback[conference_id] = playback_id
            await core.ari.play_on_bridge(conference_id, media_uris(sound), playback_id=playback_id)
        else:
            await core.ari.start_bridge_moh(conference_id, sound)
    except (AriError, UrlNotAllowed) as exc:
        log.warning("wait sound not started", conference=conference_id, error=str(exc))


async def _stop_wait(core: EngineCore, conference_id: str, playing: str) -> None:
    playback_id = core.members.wait_playback.pop(conference_id, None)
    try:
        if playback_id is not None:
            await core.ari.stop_playback(playback_id)
        if not playing or not is_url(playing):
            await core.ari.stop_bridge_moh(conference_id)
    except AriNotFound:
        pass
    except AriError as exc:
        log.info("wait sound not stopped", conference=conference_id, error=str(exc))


def playback_finished(core: EngineCore, playback_id: str) -> None:
    """Router hook (any lane-free context): API plays are forgotten; a looping wait URL
    is started again in its conference's lane."""
    core.members.play_done(playback_id)
    for conference_id, current in list(core.members.wait_playback.items()):
        if current == playback_id:

            async def again(cid: str = conference_id, pid: str = playback_id) -> None:
                sound = core.members.wait.get(cid, "")
                if core.members.wait_playback.get(cid) == pid and is_url(sound):
                    await _start_wait(core, cid, sound)

            core.lanes.fire(conference_id, again, "wait sound loop")


# --- talking (floor_events) ------------------------------------------------------------


async def talking(core: EngineCore, channel_id: str, on: bool) -> None:
    call_id = core.channels.get(channel_id)
    call = await core.conferencecall(call_id) if call_id else None
    if call is None or not call.is_live:
        return
    new = call.set_talking(on, core.now())
    conf = await core.conference(call.conference_id)
    taken = conf.take_floor(call.id, core.now()) if conf and on and not call.muted else conf
    if taken is not conf and taken is not None:
        conf = taken
        core.save(conf, new)
        log.info("floor", conference=conf.id, call=call.id)
    elif new is not call:
        core.save(None, new)  # ARI-driven: committed behind


# --- reconcile -------------------------------------------------------------------------


async def resume_pin(core: EngineCore, call: Conferencecall) -> None:
    """A caller who was entering its PIN when we went away: ask again from the start."""
    await pin.start(core, call)


async def reconciled(core: EngineCore, conference_id: str) -> None:
    """After reconcile_conference: time limits re-armed, the wait sound put right."""
    conf = await core.conference(conference_id)
    if conf is None or not conf.is_live:
        return
    for c in core.rooms.live_calls(conference_id):
        if c.status is S.JOINED:
            arm_time_limit(core, conf, c)
    await refresh_wait_sound(core, conference_id, force=True)
