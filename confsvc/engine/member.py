"""Member operations the API asks for: mute / unmute, deaf / undeaf, play / stop playing.

Each runs in the call's conference lane: the domain decides (409 once the call is
leaving or leaved; play only while joined), then ARI, then the new state is stored, so
an Asterisk that refuses leaves nothing changed (503). ARI has no mute event: the stored
change (muted / deaf) is what the events are derived from.

    mute    POST   /channels/{id}/mute?direction=in    the caller is not heard
    deaf    POST   /channels/{id}/mute?direction=out   the caller hears nothing
    play    POST   /channels/{id}/play?media=...       (engine/media.py)"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import structlog

from confsvc.ari import AriError, AriNotFound
from confsvc.domain import Conferencecall, InvalidTransition
from confsvc.domain.conferencecall import MuteChannel
from confsvc.domain.member_options import validate_member_options
from confsvc.domain.options import validate_media
from confsvc.engine.core import EngineCore
from confsvc.engine.errors import AsteriskUnavailable
from confsvc.engine.lookup import owned_call
from confsvc.engine.media import check_media, media_uris

log = structlog.get_logger(__name__)


async def carry_out(
    core: EngineCore, effects: Iterable[MuteChannel], *, strict: bool, call: Conferencecall
) -> None:
    """The mute effects against ARI. strict (the API): a vanished channel is a 409 (its
    leave events are on the way), an unreachable Asterisk a 503; otherwise logged."""
    for e in effects:
        try:
            if e.on:
                await core.ari.mute(e.channel_id, e.direction)
            else:
                await core.ari.unmute(e.channel_id, e.direction)
        except AriNotFound as exc:
            if strict:
                raise InvalidTransition(
                    "conferencecall", call.status.value, "change it", "its channel is gone"
                ) from exc
            log.info("mute not applied: channel gone", channel=e.channel_id)
        except AriError as exc:
            if strict:
                raise AsteriskUnavailable(f"could not (un)mute the channel: {exc}") from exc
            log.warning("mute not applied", channel=e.channel_id, error=str(exc))


async def _change(
    core: EngineCore, customer_id: str, call_id: str, what: str, on: bool
) -> Conferencecall:
    call = await owned_call(core, customer_id, call_id)

    async def do() -> Conferencecall:
        current = await owned_call(core, customer_id, call_id)
        if what == "muted":
            new, effects = current.set_muted(on, core.now())
        else:
            new, effects = current.set_deaf(on, core.now())
        if new is current:
            return current
        await carry_out(core, effects, strict=True, call=current)
        await core.save(None, new)
        log.info("conferencecall " + what, call=new.id, on=on)
        return new

    return await core.lanes.run(call.conference_id, do)


async def set_muted(
    core: EngineCore, customer_id: str, call_id: str, muted: bool
) -> Conferencecall:
    return await _change(core, customer_id, call_id, "muted", muted)


async def set_deaf(core: EngineCore, customer_id: str, call_id: str, deaf: bool) -> Conferencecall:
    return await _change(core, customer_id, call_id, "deaf", deaf)


async def set_member_options(
    core: EngineCore, customer_id: str, call_id: str, changes: Mapping[str, Any]
) -> Conferencecall:
    """Plivo's per-member options on a call not yet in the room (domain/member_options.py):
    422 for a bad value or an action URL the outbound policy refuses (nothing changed),
    409 once it has joined."""
    call = await owned_call(core, customer_id, call_id)
    checked = validate_member_options(call.member_options, changes)
    if checked.action:
        await core.outbound.check("action", checked.action)  # 422 url_not_allowed

    async def do() -> Conferencecall:
        current = await owned_call(core, customer_id, call_id)
        new = current.set_member(validate_member_options(current.member_options, changes),
                                 core.now())  # fmt: skip
        await core.save(None, new)
        log.info("conferencecall options", call=new.id, **changes)
        return new

    return await core.lanes.run(call.conference_id, do)


async def play(core: EngineCore, customer_id: str, call_id: str, media: object) -> Conferencecall:
    """Play a sound, beep:1/beep:2 or a URL to this caller only (the others do not hear
    it). 422 for a bad media value (before anything else) or a URL the outbound
    policy refuses, 409 unless joined."""
    value = validate_media(media, "media", allow_empty=False)
    call = await owned_call(core, customer_id, call_id)
    await check_media(core.outbound, "media", value)  # 422 url_not_allowed

    async def do() -> Conferencecall:
        current = await owned_call(core, customer_id, call_id)
        current.check_playable()
        playback_id = core.members.next_id("play", current.id)
        try:
            await core.ari.play_on_channel(
                current.reference_id, media_uris(value), playback_id=playback_id
            )
        except AriNotFound as exc:
            raise InvalidTransition(
                "conferencecall", current.status.value, "play", "its channel is gone"
            ) from exc
        except AriError as exc:
            raise AsteriskUnavailable(f"could not play: {exc}") from exc
        core.members.track_play(current.id, playback_id)
        log.info("playing to conferencecall", call=current.id, media=value)
        return current

    return await core.lanes.run(call.conference_id, do)


async def stop_play(core: EngineCore, customer_id: str, call_id: str) -> Conferencecall:
    """Stop what the API started playing to this caller (nothing playing: no-op)."""
    call = await owned_call(core, customer_id, call_id)

    async def do() -> Conferencecall:
        current = await owned_call(core, customer_id, call_id)
        current.check_playable()
        for playback_id in sorted(core.members.plays.get(current.id, set())):
            try:
                await core.ari.stop_playback(playback_id)
            except AriNotFound:
                pass  # finished meanwhile
            except AriError as exc:
                raise AsteriskUnavailable(f"could not stop playing: {exc}") from exc
            core.members.play_done(playback_id)
        return current

    return await core.lanes.run(call.conference_id, do)
