"""ARI events in arrival order -> the right conference lane. The router itself only looks
things up; all state changes happen in lanes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from confsvc.ari import (
    ChannelDtmfReceived,
    ChannelEnteredBridge,
    ChannelHangupRequest,
    ChannelLeftBridge,
    ChannelTalkingFinished,
    ChannelTalkingStarted,
    Event,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
    RecordingStarted,
    StasisEnd,
    StasisStart,
)
from confsvc.engine import (
    admission,
    dialout_events,
    dtmf,
    join,
    leave,
    moderation,
    record,
    record_block,
    transcribe,
)
from confsvc.engine.core import EngineCore

log = structlog.get_logger(__name__)

# Every ARI event type the engine reads (here and in dialout_events.py); Asterisk is told
# to send the app nothing else (engine.on_connect): a call brings a dozen ChannelVarset
# and ChannelDialplan events that both sides would otherwise encode and decode for nothing.
HANDLED_EVENTS = (
    "StasisStart",
    "StasisEnd",
    "ChannelEnteredBridge",
    "ChannelLeftBridge",
    "ChannelHangupRequest",
    "ChannelDestroyed",
    "ChannelStateChange",
    "ChannelDtmfReceived",
    "ChannelTalkingStarted",
    "ChannelTalkingFinished",
    "PlaybackStarted",
    "PlaybackFinished",
    "RecordingStarted",
    "RecordingFinished",
    "RecordingFailed",
    "BridgeDestroyed",
    "ApplicationReplaced",
)


async def route(core: EngineCore, event: Event) -> None:
    if transcribe.is_leg_event(event) or record_block.is_snoop_event(event):
        return  # a transcription leg's or a Record block's own channel, never a caller
    if await dialout_events.route(core, event):
        return  # a dial-out call's own event (engine/dialout_events.py)
    match event:
        case StasisStart():
            admission.stasis_start(core, event)
        case ChannelEnteredBridge(channel=channel) if channel is not None:
            cid, ch = event.bridge.id, channel.id
            core.lanes.fire(cid, lambda: join.entered_bridge(core, cid, ch), "entered")
        case ChannelLeftBridge():
            route_leave(core, event.channel.id, "left bridge")
        case ChannelHangupRequest():
            route_leave(core, event.channel.id, "hangup")
        case StasisEnd():
            route_leave(core, event.channel.id, "stasis end")
        case PlaybackFinished():
            core.playback_finished(event.playback.id, event.playback.state)
            moderation.playback_finished(core, event.playback.id, event.playback.state)
        case ChannelDtmfReceived():
            route_channel(core, event.channel.id, "dtmf", dtmf.received, event.digit)
        case ChannelTalkingStarted():
            route_channel(core, event.channel.id, "talking", moderation.talking, True)
        case ChannelTalkingFinished():
            route_channel(core, event.channel.id, "talking", moderation.talking, False)
        case RecordingStarted():
            log.info("asterisk is recording", recording=event.recording.name)
        case RecordingFinished() | RecordingFailed():
            await recording_ended(core, event)
        case _:
            pass


def route_leave(core: EngineCore, channel_id: str, kind: str) -> None:
    """Leave events name only the channel: find its lane; the call is looked up in it."""
    lane = core.lane_of_channel(channel_id)
    if lane is None:
        return
    if kind == "stasis end":
        core.lanes.fire(lane, lambda: leave.leaved(core, channel_id), kind)
    else:
        hangup = kind == "left bridge"
        core.lanes.fire(lane, lambda: leave.leaving(core, channel_id, hangup=hangup), kind)


def route_channel(
    core: EngineCore,
    channel_id: str,
    kind: str,
    work: Callable[[EngineCore, str, Any], Awaitable[None]],
    arg: Any,
) -> None:
    """Events of a caller's channel (DTMF, talking) -> its conference's lane."""
    lane = core.lane_of_channel(channel_id)
    if lane is not None:
        core.lanes.fire(lane, lambda: work(core, channel_id, arg), kind)


async def recording_ended(core: EngineCore, event: RecordingFinished | RecordingFailed) -> None:
    """The recording's name is our recording id; its conference's lane finalizes it."""
    rec = await core.store.get_recording(event.recording.name)
    if rec is None:
        return  # not one of ours (or deleted meanwhile)
    failed = isinstance(event, RecordingFailed)
    ended_at = record.ari_time(event.timestamp)

    async def work() -> None:
        await record.finalize(core, rec.id, failed=failed, ended_at=ended_at)

    core.lanes.fire(rec.conference_id, work, "recording ended")
