"""Typed ARI resources and events (Asterisk 22, ARI 10) as msgspec Structs.

Field names follow the swagger models in rest-api/*.json. Decoding (confsvc/ari/codec.py)
is tolerant on purpose: unknown fields are ignored and most fields have defaults, so a
newer Asterisk adding or dropping a field does not break event handling. Only the
fields a class cannot mean anything without (a channel's id, StasisStart's channel...)
are required. Timestamps stay strings ("2024-05-01T10:00:00.123+0000"): nothing here
needs date arithmetic, and a format quirk should never turn a typed event into a
generic one.
"""

from __future__ import annotations

from typing import Any

import msgspec

# --- resources -------------------------------------------------------------------------


class CallerId(msgspec.Struct):
    name: str = ""
    number: str = ""


class DialplanCEP(msgspec.Struct):
    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""


class Channel(msgspec.Struct):
    id: str
    name: str = ""
    state: str = ""
    protocol_id: str = ""
    caller: CallerId = msgspec.field(default_factory=CallerId)
    connected: CallerId = msgspec.field(default_factory=CallerId)
    accountcode: str = ""
    dialplan: DialplanCEP | None = None
    creationtime: str | None = None
    language: str | None = None
    channelvars: dict[str, Any] | None = None


class Bridge(msgspec.Struct):
    id: str
    technology: str = ""
    bridge_type: str = ""
    bridge_class: str = ""
    creator: str = ""
    name: str = ""
    channels: list[str] = msgspec.field(default_factory=list)
    creationtime: str | None = None
    video_mode: str | None = None
    video_source_id: str | None = None


class LiveRecording(msgspec.Struct):
    name: str
    format: str = ""
    target_uri: str = ""
    state: str = ""  # queued | recording | paused | done | failed | canceled
    duration: int | None = None
    talking_duration: int | None = None
    silence_duration: int | None = None
    cause: str | None = None


class StoredRecording(msgspec.Struct):
    name: str
    format: str = ""


class Playback(msgspec.Struct):
    id: str
    media_uri: str = ""
    next_media_uri: str | None = None
    target_uri: str = ""
    state: str = ""  # queued | playing | continuing | done | failed
    language: str | None = None


# --- events ----------------------------------------------------------------------------


class Event(msgspec.Struct, kw_only=True):
    """Any ARI event. Unknown event types arrive as this class (their own fields dropped).
    Keyword-only, so an event class may add required fields; in each class the required
    fields come first (msgspec wants them before defaulted ones)."""

    type: str = ""
    application: str = ""
    timestamp: str | None = None
    asterisk_id: str | None = None


class StasisStart(Event):
    channel: Channel
    args: list[str] = msgspec.field(default_factory=list)
    replace_channel: Channel | None = None


class StasisEnd(Event):
    channel: Channel


class ChannelCreated(Event):
    channel: Channel


class ChannelEnteredBridge(Event):
    bridge: Bridge
    channel: Channel | None = None  # optional in the swagger


class ChannelLeftBridge(Event):
    bridge: Bridge
    channel: Channel


class ChannelDestroyed(Event):
    channel: Channel
    cause: int = 0
    cause_txt: str = ""
    tech_cause: int | None = None


class ChannelHangupRequest(Event):
    channel: Channel
    cause: int | None = None
    tech_cause: int | None = None
    soft: bool | None = None


class ChannelStateChange(Event):
    channel: Channel


class ChannelDtmfReceived(Event):
    digit: str
    channel: Channel
    duration_ms: int = 0


class ChannelTalkingStarted(Event):
    channel: Channel


class ChannelTalkingFinished(Event):
    channel: Channel
    duration: int = 0  # milliseconds of talking


class ChannelVarset(Event):
    variable: str
    value: str = ""
    channel: Channel | None = None  # absent for global variables


class BridgeCreated(Event):
    bridge: Bridge


class BridgeDestroyed(Event):
    bridge: Bridge


class RecordingStarted(Event):
    recording: LiveRecording


class RecordingFinished(Event):
    recording: LiveRecording


class RecordingFailed(Event):
    recording: LiveRecording


class PlaybackStarted(Event):
    playback: Playback


class PlaybackContinuing(Event):
    playback: Playback


class PlaybackFinished(Event):
    playback: Playback


class ApplicationReplaced(Event):
    """Another websocket took over our application; this one gets no more events."""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        StasisStart,
        StasisEnd,
        ChannelCreated,
        ChannelEnteredBridge,
        ChannelLeftBridge,
        ChannelDestroyed,
        ChannelHangupRequest,
        ChannelStateChange,
        ChannelDtmfReceived,
        ChannelTalkingStarted,
        ChannelTalkingFinished,
        ChannelVarset,
        BridgeCreated,
        BridgeDestroyed,
        RecordingStarted,
        RecordingFinished,
        RecordingFailed,
        PlaybackStarted,
        PlaybackContinuing,
        PlaybackFinished,
        ApplicationReplaced,
    )
}
