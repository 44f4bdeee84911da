"""ARI models and parse_event, with payloads shaped after rest-api/events.json."""

from __future__ import annotations

import copy
from typing import Any

from confsvc.ari import (
    EVENT_TYPES,
    AsteriskInfo,
    Bridge,
    Channel,
    ChannelDestroyed,
    ChannelEnteredBridge,
    ChannelTalkingFinished,
    ChannelVarset,
    Event,
    RecordingFinished,
    StasisStart,
    parse_event,
)

TS = "2025-03-04T10:11:12.345+0000"

CHANNEL: dict[str, Any] = {
    "id": "1741083072.17",
    "name": "PJSIP/alice-00000008",
    "state": "Ring",
    "protocol_id": "a84d2f1e-3c2b@127.0.0.1",
    "caller": {"name": "Alice", "number": "1001"},
    "connected": {"name": "", "number": ""},
    "accountcode": "",
    "dialplan": {
        "context": "confsvc-in",
        "exten": "4711",
        "priority": 2,
        "app_name": "Stasis",
        "app_data": "confsvc,room,4711",
    },
    "creationtime": TS,
    "language": "en",
    "channelvars": {"CONFSVC_TENANT": "acme"},
}
BRIDGE: dict[str, Any] = {
    "id": "room-4711",
    "technology": "softmix",
    "bridge_type": "mixing",
    "bridge_class": "stasis",
    "creator": "Stasis",
    "name": "room 4711",
    "channels": ["1741083072.17"],
    "video_mode": "talker",
    "creationtime": TS,
}
BASE: dict[str, Any] = {
    "application": "confsvc",
    "timestamp": TS,
    "asterisk_id": "02:42:ac:11:00:02",
}


def test_stasis_start() -> None:
    data = {**BASE, "type": "StasisStart", "args": ["room", "4711"], "channel": CHANNEL}
    event = parse_event(copy.deepcopy(data))
    assert type(event) is StasisStart
    assert event.args == ["room", "4711"]
    assert event.replace_channel is None
    chan = event.channel
    assert isinstance(chan, Channel)
    assert (chan.id, chan.state, chan.caller.number) == ("1741083072.17", "Ring", "1001")
    assert chan.dialplan is not None and chan.dialplan.app_data == "confsvc,room,4711"
    assert chan.channelvars == {"CONFSVC_TENANT": "acme"}
    assert (event.application, event.timestamp, event.asterisk_id) == (
        "confsvc",
        TS,
        "02:42:ac:11:00:02",
    )


def test_stasis_start_with_replace_channel() -> None:
    data = {
        **BASE,
        "type": "StasisStart",
        "args": [],
        "channel": CHANNEL,
        "replace_channel": {**CHANNEL, "id": "old"},
    }
    event = parse_event(data)
    assert isinstance(event, StasisStart)
    assert event.replace_channel is not None and event.replace_channel.id == "old"


def test_channel_entered_bridge() -> None:
    event = parse_event(
        {**BASE, "type": "ChannelEnteredBridge", "bridge": BRIDGE, "channel": CHANNEL}
    )
    assert type(event) is ChannelEnteredBridge
    assert isinstance(event.bridge, Bridge)
    assert event.bridge.channels == ["1741083072.17"]
    assert event.bridge.bridge_type == "mixing"
    assert event.channel is not None and event.channel.name == "PJSIP/alice-00000008"


def test_recording_finished() -> None:
    rec = {
        "name": "acme/room-4711/20250304-101112",
        "format": "wav",
        "target_uri": "bridge:room-4711",
        "state": "done",
        "duration": 93,
        "talking_duration": 61,
        "silence_duration": 32,
    }
    event = parse_event({**BASE, "type": "RecordingFinished", "recording": rec})
    assert type(event) is RecordingFinished
    r = event.recording
    assert (r.name, r.state, r.duration, r.talking_duration, r.silence_duration) == (
        "acme/room-4711/20250304-101112",
        "done",
        93,
        61,
        32,
    )
    assert r.cause is None


def test_other_typed_events() -> None:
    destroyed = parse_event(
        {
            **BASE,
            "type": "ChannelDestroyed",
            "cause": 16,
            "cause_txt": "Normal Clearing",
            "channel": CHANNEL,
        }
    )
    assert isinstance(destroyed, ChannelDestroyed)
    assert (destroyed.cause, destroyed.cause_txt) == (16, "Normal Clearing")
    talk = parse_event(
        {**BASE, "type": "ChannelTalkingFinished", "duration": 1520, "channel": CHANNEL}
    )
    assert isinstance(talk, ChannelTalkingFinished) and talk.duration == 1520
    gvar = parse_event({**BASE, "type": "ChannelVarset", "variable": "G", "value": "1"})
    assert isinstance(gvar, ChannelVarset) and gvar.channel is None


def test_all_required_event_types_are_registered() -> None:
    wanted = {
        "StasisStart",
        "StasisEnd",
        "ChannelEnteredBridge",
        "ChannelLeftBridge",
        "ChannelDestroyed",
        "ChannelHangupRequest",
        "ChannelStateChange",
        "ChannelDtmfReceived",
        "ChannelTalkingStarted",
        "ChannelTalkingFinished",
        "ChannelVarset",
        "BridgeCreated",
        "BridgeDestroyed",
        "RecordingStarted",
        "RecordingFinished",
        "RecordingFailed",
        "PlaybackStarted",
        "PlaybackFinished",
        "ApplicationReplaced",
    }
    assert wanted <= set(EVENT_TYPES)
    assert type(parse_event({**BASE, "type": "ApplicationReplaced"})).__name__ == (
        "ApplicationReplaced"
    )


def test_unknown_type_is_generic_and_keeps_fields() -> None:
    event = parse_event({**BASE, "type": "ChannelToneDetected", "channel": CHANNEL, "tone": "fax"})
    assert type(event) is Event
    assert event.type == "ChannelToneDetected"
    assert event.model_extra is not None
    assert event.model_extra["tone"] == "fax"
    assert event.model_extra["channel"]["id"] == "1741083072.17"


def test_extra_fields_on_typed_events_are_kept() -> None:
    event = parse_event(
        {
            **BASE,
            "type": "StasisStart",
            "args": [],
            "channel": {**CHANNEL, "tenantid": "t1"},
            "new_top": 1,
        }
    )
    assert isinstance(event, StasisStart)
    assert event.model_extra == {"new_top": 1}
    assert event.channel.model_extra == {"tenantid": "t1"}


def test_invalid_typed_event_falls_back_to_generic() -> None:
    event = parse_event({**BASE, "type": "StasisStart", "args": []})  # no channel
    assert type(event) is Event and event.type == "StasisStart"
    event = parse_event({**BASE, "type": "ChannelDtmfReceived", "channel": "nope"})
    assert type(event) is Event


def test_parse_event_never_raises_on_odd_input() -> None:
    assert parse_event({}).type == ""
    odd = parse_event({"type": 42, "application": ["x"]})
    assert type(odd) is Event
    assert parse_event({"no_type": True}).model_extra == {"no_type": True}


def test_asterisk_info_version() -> None:
    info = AsteriskInfo.model_validate(
        {
            "build": {
                "os": "Linux",
                "kernel": "6.1",
                "machine": "x86_64",
                "options": "",
                "date": "2025-01-01",
                "user": "root",
            },
            "system": {"version": "22.10.0", "entity_id": "02:42:ac:11:00:02"},
            "config": {"name": "", "default_language": "en", "setid": {"user": "", "group": ""}},
            "status": {"startup_time": TS, "last_reload_time": TS},
        }
    )
    assert info.version == "22.10.0"
    assert AsteriskInfo.model_validate({}).version is None
