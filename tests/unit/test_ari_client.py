"""AriClient against a fake ARI HTTP server (aiohttp.web on 127.0.0.1, random port)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from confsvc.ari import (
    AriBadRequest,
    AriClient,
    AriConflict,
    AriError,
    AriNotFound,
    AriUnavailable,
    AriUnprocessable,
    Bridge,
    Channel,
    LiveRecording,
    Playback,
    encode_params,
    error_for,
)

CHANNEL = {
    "id": "chan-1",
    "name": "PJSIP/alice-00000001",
    "state": "Up",
    "protocol_id": "abc@127.0.0.1",
    "caller": {"name": "Alice", "number": "1001"},
    "connected": {"name": "", "number": ""},
    "accountcode": "",
    "dialplan": {
        "context": "confsvc",
        "exten": "100",
        "priority": 1,
        "app_name": "Stasis",
        "app_data": "confsvc,room-1",
    },
    "creationtime": "2025-01-01T10:00:00.000+0000",
    "language": "en",
}
BRIDGE = {
    "id": "room-1",
    "technology": "softmix",
    "bridge_type": "mixing",
    "bridge_class": "stasis",
    "creator": "Stasis",
    "name": "room one",
    "channels": [],
    "creationtime": "2025-01-01T10:00:00.000+0000",
    "video_mode": "none",
}
PLAYBACK = {
    "id": "pb-1",
    "media_uri": "sound:beep",
    "target_uri": "bridge:room-1",
    "state": "queued",
    "language": "en",
}
LIVE_REC = {"name": "rec/room-1", "format": "wav", "target_uri": "bridge:room-1", "state": "queued"}


@dataclass
class Seen:
    method: str
    path: str  # decoded
    raw_path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeAri:
    """Records every request; answers from `routes[(method, decoded path)]`."""

    seen: list[Seen] = field(default_factory=list)
    routes: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    delay: float = 0.0

    def on(self, method: str, path: str, status: int = 200, body: Any = None) -> None:
        self.routes[(method, path)] = (status, body)

    @property
    def last(self) -> Seen:
        return self.seen[-1]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        query: dict[str, list[str]] = {}
        for k, v in request.query.items():
            query.setdefault(k, []).append(v)
        self.seen.append(
            Seen(
                request.method,
                request.path,
                request.raw_path.split("?")[0],
                query,
                dict(request.headers),
                await request.read(),
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        path = request.path.removeprefix("/ari")
        status, body = self.routes.get((request.method, path), (204, None))
        if isinstance(body, bytes):
            return web.Response(status=status, body=body, content_type="audio/wav")
        if body is None:
            return web.Response(status=status)
        return web.json_response(body, status=status)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeAri, AriClient]]:
    ari = FakeAri()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", ari.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    client = AriClient(str(server.make_url("/ari")), "user", "s3cret", "confsvc", timeout=2)
    try:
        yield ari, client
    finally:
        await client.close()
        await server.close()


def q(seen: Seen) -> dict[str, str]:
    """Query as a flat dict; asserts no parameter was repeated."""
    assert all(len(v) == 1 for v in seen.query.values()), seen.query
    return {k: v[0] for k, v in seen.query.items()}


# --- pure helpers ------------------------------------------------------------------------


def test_encode_params_booleans_lists_and_none() -> None:
    out = encode_params({"a": True, "b": False, "c": None, "d": ["x", "y"], "e": 3, "f": "s"})
    assert out == {"a": "true", "b": "false", "d": "x,y", "e": "3", "f": "s"}


def test_error_for_maps_statuses() -> None:
    assert type(error_for(400, "GET", "/x")) is AriBadRequest
    assert type(error_for(404, "GET", "/x")) is AriNotFound
    assert type(error_for(409, "GET", "/x")) is AriConflict
    assert type(error_for(422, "GET", "/x")) is AriUnprocessable
    assert type(error_for(503, "GET", "/x")) is AriUnavailable
    assert type(error_for(418, "GET", "/x")) is AriError
    err = error_for(404, "DELETE", "/channels/x", "Channel not found")
    assert (err.status, err.method, err.path, err.message) == (
        404,
        "DELETE",
        "/channels/x",
        "Channel not found",
    )
    assert "Channel not found" in str(err)


# --- requests ----------------------------------------------------------------------------


async def test_basic_auth_and_get_channel(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.on("GET", "/channels/chan-1", body=CHANNEL)
    chan = await client.get_channel("chan-1")
    assert isinstance(chan, Channel)
    assert chan.caller.number == "1001" and chan.dialplan and chan.dialplan.exten == "100"
    assert ari.last.method == "GET" and ari.last.path == "/ari/channels/chan-1"
    expected = "Basic " + base64.b64encode(b"user:s3cret").decode()
    assert ari.last.headers["Authorization"] == expected


async def test_context_manager_and_lists(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.on("GET", "/channels", body=[CHANNEL])
    ari.on("GET", "/bridges", body=[BRIDGE])
    ari.on("GET", "/asterisk/info", body={"system": {"version": "22.10.0", "entity_id": "x"}})
    async with AriClient(client.base_url, "user", "s3cret", "confsvc") as c2:
        assert [c.id for c in await c2.list_channels()] == ["chan-1"]
        assert [b.id for b in await c2.list_bridges()] == ["room-1"]
        assert (await c2.asterisk_info()).version == "22.10.0"


async def test_channel_operations(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    await client.answer("chan-1")
    assert (ari.last.method, ari.last.path) == ("POST", "/ari/channels/chan-1/answer")

    await client.hangup("chan-1")
    assert (ari.last.method, ari.last.path) == ("DELETE", "/ari/channels/chan-1")
    assert q(ari.last) == {"reason": "normal"}

    await client.mute("chan-1")
    assert (ari.last.method, q(ari.last)) == ("POST", {"direction": "both"})
    await client.unmute("chan-1", direction="in")
    assert (ari.last.method, ari.last.path, q(ari.last)) == (
        "DELETE",
        "/ari/channels/chan-1/mute",
        {"direction": "in"},
    )

    await client.continue_in_dialplan("chan-1", context="ctx", extension="s", priority=2)
    assert q(ari.last) == {"context": "ctx", "extension": "s", "priority": "2"}

    await client.set_channel_var("chan-1", "CONFSVC_ROOM", "room 1+2")
    assert q(ari.last) == {"variable": "CONFSVC_ROOM", "value": "room 1+2"}

    await client.send_dtmf("chan-1", "1#")
    assert q(ari.last) == {"dtmf": "1#"}

    await client.start_moh("chan-1", moh_class="default")
    assert (ari.last.method, q(ari.last)) == ("POST", {"mohClass": "default"})
    await client.stop_moh("chan-1")
    assert (ari.last.method, ari.last.path) == ("DELETE", "/ari/channels/chan-1/moh")

    await client.ring("chan-1")
    assert (ari.last.method, ari.last.path) == ("POST", "/ari/channels/chan-1/ring")
    await client.dial("chan-1", caller="chan-0", timeout=20)
    assert q(ari.last) == {"caller": "chan-0", "timeout": "20"}


async def test_channel_var_get_and_missing(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.on("GET", "/channels/chan-1/variable", body={"value": "42"})
    assert await client.get_channel_var("chan-1", "X") == "42"
    assert q(ari.last) == {"variable": "X"}
    ari.on("GET", "/channels/chan-1/variable", 404, {"message": "Provided variable was not found"})
    assert await client.get_channel_var("chan-1", "X") is None


async def test_play_media_is_comma_joined_once(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.on("POST", "/channels/chan-1/play", body=PLAYBACK)
    pb = await client.play_on_channel("chan-1", ["sound:hello", "sound:beep"], playback_id="pb-1")
    assert isinstance(pb, Playback) and pb.id == "pb-1"
    assert q(ari.last) == {"media": "sound:hello,sound:beep", "playbackId": "pb-1"}

    ari.on("POST", "/bridges/room-1/play", body=PLAYBACK)
    await client.play_on_bridge("room-1", "sound:beep", lang="en")
    assert q(ari.last) == {"media": "sound:beep", "lang": "en"}


async def test_originate_sends_variables_in_body(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.on("POST", "/channels", body=CHANNEL)
    chan = await client.originate(
        "PJSIP/1001",
        channel_id="out-1",
        app="confsvc",
        app_args=["dialout", "room-1"],
        caller_id="Room <100>",
        variables={"CONFSVC_ROOM": "room-1"},
    )
    assert chan.id == "chan-1"
    assert (ari.last.method, ari.last.path) == ("POST", "/ari/channels")
    assert q(ari.last) == {
        "endpoint": "PJSIP/1001",
        "channelId": "out-1",
        "app": "confsvc",
        "appArgs": "dialout,room-1",
        "callerId": "Room <100>",
        "timeout": "30",
    }
    assert json.loads(ari.last.body) == {"variables": {"CONFSVC_ROOM": "room-1"}}


async def test_snoop(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.on("POST", "/channels/chan-1/snoop", body={**CHANNEL, "id": "snoop-1"})
    chan = await client.snoop("chan-1", snoop_id="snoop-1", whisper="out")  # client app
    assert chan.id == "snoop-1"
    assert q(ari.last) == {"snoopId": "snoop-1", "app": "confsvc", "spy": "none", "whisper": "out"}


async def test_bridge_operations(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.on("POST", "/bridges/room-1", body=BRIDGE)
    bridge = await client.create_bridge("room-1", name="room one")
    assert isinstance(bridge, Bridge) and bridge.bridge_type == "mixing"
    assert q(ari.last) == {"type": "mixing", "name": "room one"}

    await client.add_channel("room-1", ["a", "b"], role="participant", absorb_dtmf=True, mute=False)
    assert ari.last.path == "/ari/bridges/room-1/addChannel"
    assert q(ari.last) == {
        "channel": "a,b",
        "role": "participant",
        "absorbDTMF": "true",
        "mute": "false",
    }

    await client.remove_channel("room-1", "a")
    assert (ari.last.path, q(ari.last)) == ("/ari/bridges/room-1/removeChannel", {"channel": "a"})
    await client.start_bridge_moh("room-1")
    assert (ari.last.method, ari.last.path, q(ari.last)) == ("POST", "/ari/bridges/room-1/moh", {})
    await client.stop_bridge_moh("room-1")
    assert ari.last.method == "DELETE"
    await client.destroy_bridge("room-1")
    assert (ari.last.method, ari.last.path) == ("DELETE", "/ari/bridges/room-1")


async def test_record_bridge_booleans(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.on("POST", "/bridges/room-1/record", body=LIVE_REC)
    rec = await client.record_bridge("room-1", "rec/room-1", beep=True, max_duration_seconds=60)
    assert isinstance(rec, LiveRecording) and rec.state == "queued"
    assert q(ari.last) == {
        "name": "rec/room-1",
        "format": "wav",
        "maxDurationSeconds": "60",
        "maxSilenceSeconds": "0",
        "ifExists": "fail",
        "beep": "true",
        "terminateOn": "none",
    }
    await client.record_bridge("room-1", "r2")
    assert q(ari.last)["beep"] == "false"


async def test_recordings_quote_names_and_download(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    name = "conf/room 1+x"
    ari.on("GET", f"/recordings/stored/{name}/file", body=b"RIFF\x00\x01binary")
    data = await client.stored_recording_file(name)
    assert data == b"RIFF\x00\x01binary"
    # One path segment: '/' -> %2F, ' ' -> %20, '+' -> %2B.
    assert ari.last.raw_path == "/ari/recordings/stored/conf%2Froom%201%2Bx/file"

    await client.stop_live_recording(name)
    assert (ari.last.method, ari.last.raw_path) == (
        "POST",
        "/ari/recordings/live/conf%2Froom%201%2Bx/stop",
    )
    await client.cancel_live_recording("r")
    assert (ari.last.method, ari.last.path) == ("DELETE", "/ari/recordings/live/r")

    ari.on("GET", "/recordings/stored", body=[{"name": "conf/a", "format": "wav"}])
    assert [r.name for r in await client.list_stored_recordings()] == ["conf/a"]
    ari.on("GET", "/recordings/live/r", body={**LIVE_REC, "name": "r", "state": "recording"})
    assert (await client.get_live_recording("r")).state == "recording"
    await client.delete_stored_recording("conf/a")
    assert (ari.last.method, ari.last.raw_path) == ("DELETE", "/ari/recordings/stored/conf%2Fa")

    await client.stop_playback("pb-1")
    assert (ari.last.method, ari.last.path) == ("DELETE", "/ari/playbacks/pb-1")


async def test_ping_and_application(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.on(
        "GET",
        "/asterisk/ping",
        body={"asterisk_id": "a", "ping": "pong", "timestamp": "2025-01-01T10:00:00.000+0000"},
    )
    assert (await client.ping()).ping == "pong"
    ari.on("GET", "/applications/confsvc", body={"name": "confsvc", "channel_ids": []})
    assert (await client.get_application("confsvc"))["name"] == "confsvc"
    assert (await client.get_application())["name"] == "confsvc"
    await client.subscribe("bridge:b-1")  # our app, unless named
    assert (ari.last.method, ari.last.path) == ("POST", "/ari/applications/confsvc/subscription")
    assert q(ari.last) == {"eventSource": "bridge:b-1"}


# --- errors ------------------------------------------------------------------------------


async def test_error_mapping(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.on("GET", "/channels/nope", 404, {"message": "Channel not found"})
    with pytest.raises(AriNotFound) as info:
        await client.get_channel("nope")
    assert info.value.status == 404 and info.value.message == "Channel not found"
    assert info.value.method == "GET" and info.value.path == "/channels/nope"

    ari.on(
        "POST", "/bridges/room-1/addChannel", 422, {"message": "Channel not in Stasis application"}
    )
    with pytest.raises(AriUnprocessable, match="Channel not in Stasis application"):
        await client.add_channel("room-1", "chan-1")

    ari.on("POST", "/channels/chan-1/answer", 409, {"message": "Channel not in Stasis"})
    with pytest.raises(AriConflict):
        await client.answer("chan-1")

    ari.on("GET", "/bridges", 500, b"oops")
    with pytest.raises(AriUnavailable) as info5:
        await client.list_bridges()
    assert info5.value.status == 500


async def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with AriClient(f"http://127.0.0.1:{port}/ari", "u", "p", "app", timeout=1) as c:
        with pytest.raises(AriUnavailable) as info:
            await c.ping()
    assert info.value.status == 0 and info.value.path == "/asterisk/ping"


async def test_timeout_is_unavailable(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.delay = 0.5
    slow = AriClient(client.base_url, "user", "s3cret", "confsvc", timeout=0.1)
    try:
        with pytest.raises(AriUnavailable):
            await slow.ping()
    finally:
        await slow.close()
