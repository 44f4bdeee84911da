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
    port: int  # the client's side of the connection: which pooled connection was used


@dataclass
class FakeAri:
    """Records every request; answers from `routes[(method, decoded path)]`."""

    seen: list[Seen] = field(default_factory=list)
    routes: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    delay: float = 0.0
    # (method, path) -> chunks sent `chunk_delay` apart, as a long download arrives
    streams: dict[tuple[str, str], list[bytes]] = field(default_factory=dict)
    chunk_delay: float = 0.0

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
                request.transport.get_extra_info("peername")[1] if request.transport else 0,
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        path = request.path.removeprefix("/ari")
        if (request.method, path) in self.streams:
            return await self.stream(request, self.streams[(request.method, path)])
        status, body = self.routes.get((request.method, path), (204, None))
        if isinstance(body, bytes):
            return web.Response(status=status, body=body, content_type="audio/wav")
        if body is None:
            return web.Response(status=status)
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="application/json")
        return web.json_response(body, status=status)

    async def stream(self, request: web.Request, chunks: list[bytes]) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "audio/wav"})
        await resp.prepare(request)
        for chunk in chunks:
            await asyncio.sleep(self.chunk_delay)
            await resp.write(chunk)
        await resp.write_eof()
        return resp


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


async def test_basic_auth_and_typed_answer(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.on("GET", "/channels", body=[CHANNEL])
    [chan] = await client.list_channels()
    assert isinstance(chan, Channel)
    assert chan.caller.number == "1001" and chan.dialplan and chan.dialplan.exten == "100"
    assert ari.last.method == "GET" and ari.last.path == "/ari/channels"
    expected = "Basic " + base64.b64encode(b"user:s3cret").decode()
    assert ari.last.headers["Authorization"] == expected


async def test_context_manager_and_lists(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.on("GET", "/channels", body=[CHANNEL])
    ari.on("GET", "/bridges", body=[BRIDGE])
    async with AriClient(client.base_url, "user", "s3cret", "confsvc") as c2:
        assert [c.id for c in await c2.list_channels()] == ["chan-1"]
        assert [b.id for b in await c2.list_bridges()] == ["room-1"]


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

    await client.set_channel_var("chan-1", "CONFSVC_ROOM", "room 1+2")
    assert q(ari.last) == {"variable": "CONFSVC_ROOM", "value": "room 1+2"}

    await client.send_dtmf("chan-1", "1#")
    assert q(ari.last) == {"dtmf": "1#"}


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
    assert ari.last.headers["Content-Type"] == "application/json"


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

    ari.on("GET", "/recordings/live/r", body={**LIVE_REC, "name": "r", "state": "recording"})
    assert (await client.get_live_recording("r")).state == "recording"
    await client.delete_stored_recording("conf/a")
    assert (ari.last.method, ari.last.raw_path) == ("DELETE", "/ari/recordings/stored/conf%2Fa")

    await client.stop_playback("pb-1")
    assert (ari.last.method, ari.last.path) == ("DELETE", "/ari/playbacks/pb-1")


async def test_subscribe_names_our_app(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    await client.subscribe("bridge:b-1")
    assert (ari.last.method, ari.last.path) == ("POST", "/ari/applications/confsvc/subscription")
    assert q(ari.last) == {"eventSource": "bridge:b-1"}


# --- errors ------------------------------------------------------------------------------


async def test_error_mapping(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.on("GET", "/recordings/live/nope", 404, {"message": "Recording not found"})
    with pytest.raises(AriNotFound) as info:
        await client.get_live_recording("nope")
    assert info.value.status == 404 and info.value.message == "Recording not found"
    assert info.value.method == "GET" and info.value.path == "/recordings/live/nope"

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
            await c.list_channels()
    assert info.value.status == 0 and info.value.path == "/channels"


async def test_timeout_is_unavailable(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    ari.delay = 0.5
    slow = AriClient(client.base_url, "user", "s3cret", "confsvc", timeout=0.1)
    try:
        with pytest.raises(AriUnavailable):
            await slow.list_bridges()
    finally:
        await slow.close()


async def test_answers_are_decoded_tolerantly(fake: tuple[FakeAri, AriClient]) -> None:
    ari, client = fake
    # Fields Asterisk may add are ignored; fields it may drop get their defaults.
    ari.on("POST", "/bridges/room-1", body={"id": "room-1", "future": {"x": 1}})
    bridge = await client.create_bridge("room-1")
    assert (bridge.id, bridge.channels, bridge.creator) == ("room-1", [], "")
    assert not hasattr(bridge, "future")

    ari.on("POST", "/channels/chan-1/play", body="{not json")
    with pytest.raises(AriError, match="unexpected response") as info:
        await client.play_on_channel("chan-1", "sound:beep")
    assert info.value.status == 200 and not isinstance(info.value, AriUnavailable)
    ari.on("GET", "/bridges", body={"id": "room-1"})  # an object where a list belongs
    with pytest.raises(AriError, match="unexpected response"):
        await client.list_bridges()
    ari.on("GET", "/recordings/live/r", body={"state": "done"})  # no name
    with pytest.raises(AriError, match="name"):
        await client.get_live_recording("r")


async def test_a_burst_shares_a_small_kept_alive_pool(fake: tuple[FakeAri, AriClient]) -> None:
    """100 concurrent calls through a pool of 8: never more than 8 connections, and they
    are kept alive for the calls that follow instead of one connection per request."""
    ari, client = fake
    ari.delay = 0.01  # keep the requests in flight together
    pooled = AriClient(client.base_url, "user", "s3cret", "confsvc", pool_size=8)
    try:
        await asyncio.gather(*(pooled.answer(f"chan-{i}") for i in range(100)))
        burst_ports = {s.port for s in ari.seen}
        for i in range(20):
            await pooled.mute(f"chan-{i}")
    finally:
        await pooled.close()
    assert len(ari.seen) == 120
    assert 1 < len(burst_ports) <= 8
    assert {s.port for s in ari.seen[100:]} <= burst_ports  # reused, none opened anew


async def test_the_default_pool_stays_below_asterisks_session_limit(
    fake: tuple[FakeAri, AriClient],
) -> None:
    ari, client = fake
    ari.delay = 0.05
    await asyncio.gather(*(client.answer(f"chan-{i}") for i in range(150)))
    # Asterisk's http.conf sessionlimit is 100 by default, the event websocket included.
    assert len({s.port for s in ari.seen}) <= 64


async def test_recording_download_is_not_cut_by_the_call_timeout(
    fake: tuple[FakeAri, AriClient],
) -> None:
    ari, client = fake
    short = AriClient(client.base_url, "user", "s3cret", "confsvc", timeout=0.2)
    try:
        # 6 chunks 0.1 s apart: 0.6 s in all, three times the call timeout.
        ari.streams[("GET", "/recordings/stored/long/file")] = [b"RIFF", *[b"x" * 1000] * 5]
        ari.chunk_delay = 0.1
        assert await short.stored_recording_file("long") == b"RIFF" + b"x" * 5000
        # ...but a download that stops arriving still fails.
        ari.chunk_delay = 0.5
        with pytest.raises(AriUnavailable):
            await short.stored_recording_file("long")
        # Other calls keep their total timeout.
        ari.delay = 0.5
        with pytest.raises(AriUnavailable):
            await short.list_channels()
    finally:
        await short.close()
