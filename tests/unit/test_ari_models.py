"""ARI models, decode_event (websocket text) and parse_event (a dict), with payloads shaped
after rest-api/events.json."""

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec
import pytest
from structlog.testing import capture_logs

from confsvc.ari import (
    EVENT_TYPES,
    Bridge,
    CallerId,
    Channel,
    ChannelDestroyed,
    ChannelEnteredBridge,
    ChannelTalkingFinished,
    ChannelVarset,
    Event,
    MalformedEvent,
    RecordingFinished,
    StasisStart,
    decode_event,
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


def test_unknown_type_is_generic() -> None:
    event = parse_event({**BASE, "type": "ChannelToneDetected", "channel": CHANNEL, "tone": "fax"})
    assert type(event) is Event
    assert (event.type, event.application, event.timestamp) == (
        "ChannelToneDetected",
        "confsvc",
        TS,
    )
    assert not hasattr(event, "tone") and not hasattr(event, "channel")


def test_extra_fields_are_ignored() -> None:
    event = parse_event(
        {
            **BASE,
            "type": "StasisStart",
            "args": [],
            "channel": {**CHANNEL, "tenantid": "t1", "caller": {"number": "7", "x": 1}},
            "new_top": 1,
        }
    )
    assert isinstance(event, StasisStart)
    assert event.channel.id == "1741083072.17" and event.channel.caller.number == "7"
    assert not hasattr(event, "new_top") and not hasattr(event.channel, "tenantid")


def test_missing_optional_fields_get_defaults() -> None:
    event = decode_event('{"type": "StasisStart", "channel": {"id": "c1"}}')
    assert isinstance(event, StasisStart)
    assert (event.args, event.replace_channel, event.application, event.timestamp) == (
        [],
        None,
        "",
        None,
    )
    chan = event.channel
    assert (chan.name, chan.state, chan.dialplan, chan.channelvars) == ("", "", None, None)
    assert chan.caller == CallerId() and chan.caller is not chan.connected
    other = decode_event('{"type": "StasisStart", "channel": {"id": "c2"}}')
    assert isinstance(other, StasisStart)
    other.args.append("x")  # defaults are per event, never shared
    assert event.args == []


def test_numbers_sent_as_strings_are_accepted() -> None:
    chan = {**CHANNEL, "dialplan": {**CHANNEL["dialplan"], "priority": "2"}}
    event = parse_event({**BASE, "type": "ChannelDestroyed", "cause": "16", "channel": chan})
    assert isinstance(event, ChannelDestroyed) and event.cause == 16
    assert event.channel.dialplan is not None and event.channel.dialplan.priority == 2


def test_invalid_typed_event_falls_back_to_generic() -> None:
    with capture_logs() as logs:
        event = parse_event({**BASE, "type": "StasisStart", "args": []})  # no channel
        assert type(event) is Event and event.type == "StasisStart"
        event = parse_event({**BASE, "type": "ChannelDtmfReceived", "channel": "nope"})
        assert type(event) is Event
    invalid = [e for e in logs if e["event"] == "ari.event.invalid"]
    assert [e["type"] for e in invalid] == ["StasisStart", "ChannelDtmfReceived"]
    assert "channel" in invalid[0]["error"]


def test_odd_input() -> None:
    assert type(parse_event({})) is Event and parse_event({}).type == ""
    assert type(parse_event({"no_type": True})) is Event
    with pytest.raises(MalformedEvent):
        parse_event({"type": 42})
    with pytest.raises(MalformedEvent):
        parse_event({"type": "Foo", "application": ["x"]})  # base fields are wrong


@pytest.mark.parametrize("message", ["{not json", "[1, 2, 3]", '"text"', "", '{"type": 42}'])
def test_decode_event_rejects_what_is_not_an_event(message: str) -> None:
    with pytest.raises(MalformedEvent):
        decode_event(message)


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_decode_event_matches_parse_event_for_every_type(name: str) -> None:
    """Every registered class decodes from the wire (str and bytes) to what parse_event
    makes of the same dict, with its required fields filled as Asterisk would."""
    samples: dict[str, Any] = {
        "channel": CHANNEL,
        "bridge": BRIDGE,
        "recording": {"name": "r1", "state": "done"},
        "playback": {"id": "pb1", "state": "done"},
        "digit": "5",
        "variable": "X",
    }
    cls = EVENT_TYPES[name]
    data = {**BASE, "type": name}
    for f in msgspec.structs.fields(cls):
        if f.required:
            data[f.name] = samples[f.name]
    text = json.dumps(data)
    event = decode_event(text)
    assert type(event) is cls and event.type == name
    assert decode_event(text.encode()) == event == parse_event(data)
