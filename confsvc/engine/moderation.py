"""Conference options at work (seed 003), hooked into the join and leave flows. Every
function runs inside the conference's lane; the rules are in domain/moderation.py.

    admitted      a PIN room's caller, answered: PIN entry (pin.py); others go straight
                  in (join.py: entry.settle_entry, then answer + bridge outside the lane)
    enter_room    role known: muted on entry (start_muted / waiting for a moderator),
                  then into the bridge with absorbDTMF (digits reach us, not the others)
    on_joined     in the bridge: talk detection, time limit, enter sound, a moderator
                  releases the waiting participants, wait sound
    after_leave   leaved: exit sound, floor, end_on_moderator_exit / stay_alone, the last
                  moderator gone puts the participants back on hold, wait sound
The wait sound plays to the whole bridge: music on hold (POST /bridges/{id}/moh) or an
http(s) URL played over and over (POST /bridges/{id}/play, again on PlaybackFinished).

A wait sound URL that fails (PlaybackFinished `failed`: a 404, not audio, unreachable; or
a play that ends within WAIT_MIN_SECONDS of its start) is played again only after a
backoff: 1 s, 2 s, 4 s ... at most 60 s, as long as the room still wants it; a play that
works resets it. The failure is reported once per room and sound: one warning line and
one `conference_wait_sound_failed` event. (Before: played again at once, ~60 fetches a
second with one caller alone.)"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from confsvc.ari import AriError, AriNotFound
from confsvc.domain import Conference, Conferencecall, ConferencecallStatus, ConferenceStatus
from confsvc.domain.moderation import (
    conference_started,
    ends_after_leave,
    member_of,
    wanted_wait_sound,
)
from confsvc.domain.options import Role, is_url
from confsvc.engine import member, pin
from confsvc.engine.core import EngineCore
from confsvc.engine.entry import enter_room
from confsvc.engine.kick import kick_in_lane
from confsvc.engine.media import check_media, media_uris
from confsvc.engine.terminate import terminate
from confsvc.outbound import UrlNotAllowed

log = structlog.get_logger(__name__)
S = ConferencecallStatus

# A failing wait sound URL: what counts as failed, and the backoff before playing again.
WAIT_MIN_SECONDS = 0.5  # a play that ends sooner failed (nothing sensible is that short)
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0


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
    if member_of(opts, call).start_conference_on_enter:  # the waiting members are heard
        await _for_each_live(core, conf.id, release=True)
    await refresh_wait_sound(core, conf.id)


def arm_time_limit(core: EngineCore, conf: Conference, call: Conferencecall) -> None:
    if conf.options.member_time_limit > 0 and call.tm_join is not None:
        deadline = call.tm_join + timedelta(seconds=conf.options.member_time_limit)
        core.members.time_limits.arm(call.id, deadline)


async def time_limit_reached(core: EngineCore, call_id: str) -> None:
    call = await core.conferencecall(call_id)
    if call is not None and call.is_kickable:
        log.info("time limit reached: caller removed", call=call_id)
        await kick_in_lane(core, call_id, strict=False)


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
        log.info("conference ends with this leave", conference=conf.id, call=call.id)
        await terminate(core, conf)
        return
    progressing = conf.status is ConferenceStatus.PROGRESSING
    if member_of(opts, call).start_conference_on_enter and progressing:
        live = core.rooms.live_calls(conf.id)
        if not conference_started(opts, live):  # the last who started it left: wait again
            await _for_each_live(core, conf.id, release=False)
    await refresh_wait_sound(core, conf.id)


async def _for_each_live(core: EngineCore, conference_id: str, *, release: bool) -> None:
    """release: a member who starts the conference came, held members are heard again.
    Else: the last such member left, the others in the room wait (muted) again."""
    conf = await core.conference(conference_id)
    if conf is None:
        return
    for c in core.rooms.live_calls(conference_id):
        if c.pin_entry or (not release and member_of(conf.options, c).start_conference_on_enter):
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
    live = core.rooms.live_calls(conference_id)
    opts = conf.options
    waiting = bool(live) and not conference_started(opts, live)
    # A room that may wait (so after a restart the music may still be on) or waits now.
    may_wait = opts.wait_for_moderator or not opts.start_conference_on_enter
    uses_wait = bool(opts.wait_sound) or may_wait or waiting
    if not uses_wait and conference_id not in core.members.wait:
        return
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
            core.members.wait_started[conference_id] = asyncio.get_running_loop().time()
            await core.ari.play_on_bridge(conference_id, media_uris(sound), playback_id=playback_id)
        else:
            await core.ari.start_bridge_moh(conference_id, sound)
    except (AriError, UrlNotAllowed) as exc:
        log.warning("wait sound not started", conference=conference_id, error=str(exc))


async def _stop_wait(core: EngineCore, conference_id: str, playing: str) -> None:
    core.members.wait_ended(conference_id)
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


def playback_finished(core: EngineCore, playback_id: str, state: str = "done") -> None:
    """Router hook (any lane-free context): API plays are forgotten; a looping wait URL
    is started again in its conference's lane (at once, or after a backoff if it failed)."""
    core.members.play_done(playback_id)
    ended_at = asyncio.get_running_loop().time()
    for conference_id, current in list(core.members.wait_playback.items()):
        if current == playback_id:

            async def again(cid: str = conference_id) -> None:
                await _wait_play_ended(core, cid, playback_id, state, ended_at)

            core.lanes.fire(conference_id, again, "wait sound loop")


async def _wait_play_ended(
    core: EngineCore, conference_id: str, playback_id: str, state: str, ended_at: float
) -> None:
    members = core.members
    sound = members.wait.get(conference_id, "")
    if members.wait_playback.get(conference_id) != playback_id or not is_url(sound):
        return  # stopped or changed meanwhile
    played = ended_at - members.wait_started.get(conference_id, ended_at)
    if state != "failed" and played >= WAIT_MIN_SECONDS:
        if members.wait_failures.pop(conference_id, 0):
            log.info("wait sound playing again", conference=conference_id, sound=sound)
        members.wait_reported.pop(conference_id, None)
        await _start_wait(core, conference_id, sound)
        return
    failures = members.wait_failures.get(conference_id, 0) + 1
    members.wait_failures[conference_id] = failures
    delay = retry_delay(failures)
    if members.wait_reported.get(conference_id) != sound:
        members.wait_reported[conference_id] = sound
        await _report_wait_failed(core, conference_id, sound, state, delay)
    members.wait_retry.arm(conference_id, core.now() + timedelta(seconds=delay))


def retry_delay(failures: int) -> float:
    """Seconds before a failing wait sound is played again: 1, 2, 4 ... 60."""
    return min(RETRY_FIRST_SECONDS * 2 ** min(failures - 1, 16), RETRY_MAX_SECONDS)


async def _report_wait_failed(
    core: EngineCore, conference_id: str, sound: str, state: str, delay: float
) -> None:
    log.warning(
        "wait sound failed: playing it again with backoff",
        conference=conference_id,
        sound=sound,
        playback_state=state,
        retry_seconds=delay,
    )
    conf = await core.conference(conference_id)
    if conf is not None:
        data = conf.to_json(core.settings.dial_host)
        core.bus.emit(
            "conference_wait_sound_failed",
            conf.customer_id,
            {**data, "sound": sound, "playback_state": state},
        )


async def retry_wait_sound(core: EngineCore, conference_id: str) -> None:
    """The backoff is over (in the lane): play the wait sound again if still wanted."""
    sound = core.members.wait.get(conference_id, "")
    if is_url(sound) and conference_id in core.members.wait_playback:
        await _start_wait(core, conference_id, sound)


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
