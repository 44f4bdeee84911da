"""Pydantic models for the ARI resources and events we use (Asterisk 22, ARI 10).

Field names follow the swagger models in rest-api/*.json. Models are tolerant on
purpose: unknown fields are kept (extra="allow") and most fields have defaults, so a
newer Asterisk adding or dropping a field does not break event handling.
Timestamps stay strings ("2024-05-01T10:00:00.123+0000"): nothing here needs date
arithmetic, and a format quirk should never turn a typed event into a generic one.
"""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = structlog.get_logger(__name__)


class AriModel(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- resources -------------------------------------------------------------------------


class CallerId(AriModel):
    name: str = ""
    number: str = ""


class DialplanCEP(AriModel):
    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""


class Channel(AriModel):
    id: str
    name: str = ""
    state: str = ""
    protocol_id: str = ""
    caller: CallerId = Field(default_factory=CallerId)
    connected: CallerId = Field(default_factory=CallerId)
    accountcode: str = ""
    dialplan: DialplanCEP | None = None
    creationtime: str | None = None
    language: str | None = None
    channelvars: dict[str, Any] | None = None


class Bridge(AriModel):
    id: str
    technology: str = ""
    bridge_type: str = ""
    bridge_class: str = ""
    creator: str = ""
    name: str = ""
    channels: list[str] = Field(default_factory=list)
    creationtime: str | None = None
    video_mode: str | None = None
    video_source_id: str | None = None


class LiveRecording(AriModel):
    name: str
    format: str = ""
    target_uri: str = ""
    state: str = ""  # queued | recording | paused | done | failed | canceled
    duration: int | None = None
    talking_duration: int | None = None
    silence_duration: int | None = None
    cause: str | None = None


class StoredRecording(AriModel):
    name: str
    format: str = ""


class Playback(AriModel):
    id: str
    media_uri: str = ""
    next_media_uri: str | None = None
    target_uri: str = ""
    state: str = ""  # queued | playing | continuing | done | failed
    language: str | None = None


class AsteriskInfo(AriModel):
    build: dict[str, Any] | None = None
    system: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    status: dict[str, Any] | None = None

    @property
    def version(self) -> str | None:
        return (self.system or {}).get("version")


class AsteriskPing(AriModel):
    asterisk_id: str = ""
    ping: str = ""
    timestamp: str = ""


# --- events ----------------------------------------------------------------------------


class Event(AriModel):
    """Any ARI event. Unknown event types arrive as this class with all fields kept."""

    type: str = ""
    application: str = ""
    timestamp: str | None = None
    asterisk_id: str | None = None


class StasisStart(Event):
    args: list[str] = Field(default_factory=list)
    channel: Channel
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
    cause: int = 0
    cause_txt: str = ""
    tech_cause: int | None = None
    channel: Channel


class ChannelHangupRequest(Event):
    cause: int | None = None
    tech_cause: int | None = None
    soft: bool | None = None
    channel: Channel


class ChannelStateChange(Event):
    channel: Channel


class ChannelDtmfReceived(Event):
    digit: str
    duration_ms: int = 0
    channel: Channel


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


def parse_event(data: dict[str, Any]) -> Event:
    """The typed event for `data["type"]`, or a generic Event. Never raises.

    A typed event that fails validation is logged and returned as a generic Event, so
    a single odd message can never stop the event stream.
    """
    etype = data.get("type")
    cls = EVENT_TYPES.get(etype) if isinstance(etype, str) else None
    if cls is not None:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            log.warning(
                "ari.event.invalid",
                type=etype,
                errors=exc.errors(include_url=False, include_input=False),
            )
    try:
        return Event.model_validate(data)
    except ValidationError:
        # Even the base fields are odd (e.g. a non-string type): keep everything as-is.
        return Event.model_construct(**{str(k): v for k, v in data.items()})
