"""EventStream against a fake ARI websocket (websockets server on 127.0.0.1, port 0)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from structlog.testing import capture_logs
from websockets.asyncio.server import Server, ServerConnection, serve

from confsvc.ari import ChannelDtmfReceived, Event, EventStream, StasisStart

Script = Callable[[ServerConnection, int], Awaitable[None]]


def ev(etype: str, n: int, **extra: Any) -> str:
    """A minimal but schema-shaped ARI event; `n` travels in the channel id (in
    asterisk_id for other types: a generic Event keeps only the base fields)."""
    data: dict[str, Any] = {
        "type": etype,
        "application": "confsvc",
        "timestamp": "2025-01-01T10:00:00.000+0000",
        "asterisk_id": "00:11:22:33:44:55",
    }
    if etype == "StasisStart":
        data |= {"args": ["room-1"], "channel": {"id": f"c{n}", "name": f"PJSIP/x-{n}"}}
    elif etype == "ChannelDtmfReceived":
        data |= {"digit": "5", "duration_ms": 100, "channel": {"id": f"c{n}"}}
    else:
        data |= {"asterisk_id": f"n{n}"}
    return json.dumps(data | extra)


def num(event: Event) -> int:
    if isinstance(event, StasisStart | ChannelDtmfReceived):
        return int(event.channel.id[1:])
    return int((event.asterisk_id or "")[1:])


class FakeAriWs:
    """Runs `script(ws, nth_connection)` for every client connection."""

    def __init__(self) -> None:
        self.script: Script = self.idle
        self.paths: list[str] = []
        self.close_codes: list[int | None] = []
        self.server: Server | None = None
        self.port = 0

    @staticmethod
    async def idle(ws: ServerConnection, n: int) -> None:
        await ws.wait_closed()

    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.paths.append(ws.request.path)
        try:
            await self.script(ws, len(self.paths))
        finally:
            self.close_codes.append(ws.close_code)

    async def start(self, port: int = 0) -> None:
        self.server = await serve(self._handler, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ari/events"


@pytest.fixture
async def fake() -> AsyncIterator[FakeAriWs]:
    srv = FakeAriWs()
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


class Recorder:
    """Handler + on_connect that log into one list, so their relative order is visible."""

    def __init__(self, want: int, on_connect_delay: float = 0.0) -> None:
        self.log: list[Any] = []
        self.events: list[Event] = []
        self.want = want
        self.done = asyncio.Event()
        self.on_connect_delay = on_connect_delay

    async def handler(self, event: Event) -> None:
        await asyncio.sleep(0)  # yield: a concurrent design would reorder here
        self.events.append(event)
        self.log.append(num(event))
        if len(self.events) >= self.want:
            self.done.set()

    async def on_connect(self) -> None:
        self.log.append("connect")
        await asyncio.sleep(self.on_connect_delay)


def make_stream(srv: FakeAriWs, rec: Recorder, **kw: Any) -> EventStream:
    kw.setdefault("backoff_initial", 0.01)
    kw.setdefault("backoff_max", 0.05)
    kw.setdefault("jitter", 0.0)
    kw.setdefault("on_connect", rec.on_connect)
    return EventStream(srv.url, "confsvc", "p@ss:w rd", "confsvc", rec.handler, **kw)


async def test_in_order_delivery_generic_unknown_and_query(fake: FakeAriWs) -> None:
    async def script(ws: ServerConnection, n: int) -> None:
        for i in range(30):
            etype = ("StasisStart", "ChannelDtmfReceived", "SomethingNew")[i % 3]
            await ws.send(ev(etype, i, future_field={"x": 1}))
        await ws.wait_closed()

    fake.script = script
    rec = Recorder(want=30)
    stream = make_stream(fake, rec)
    await stream.start()
    try:
        await asyncio.wait_for(rec.done.wait(), 2)
        assert stream.connected
    finally:
        await stream.stop()
    assert rec.log == ["connect", *range(30)]
    kinds = [type(e) for e in rec.events[:3]]
    assert kinds == [StasisStart, ChannelDtmfReceived, Event]
    unknown = rec.events[2]
    assert unknown.type == "SomethingNew" and unknown.application == "confsvc"
    assert not hasattr(unknown, "future_field")  # unknown fields are ignored
    assert isinstance(rec.events[0], StasisStart) and rec.events[0].args == ["room-1"]

    url = urlsplit(fake.paths[0])
    assert url.path == "/ari/events"
    assert parse_qs(url.query) == {
        "app": ["confsvc"],
        "api_key": ["confsvc:p@ss:w rd"],
        "subscribeAll": ["false"],
    }


async def test_on_connect_runs_first_and_buffers_events(fake: FakeAriWs) -> None:
    in_hook = asyncio.Event()
    sent = asyncio.Event()

    async def script(ws: ServerConnection, n: int) -> None:
        await in_hook.wait()  # send only while the client is inside on_connect
        for i in range(5):
            await ws.send(ev("StasisStart", i))
        sent.set()
        await ws.wait_closed()

    fake.script = script
    rec = Recorder(want=5)
    connected_inside_hook: list[bool] = []

    async def on_connect() -> None:
        rec.log.append("connect")
        in_hook.set()
        await sent.wait()
        await asyncio.sleep(0.05)  # let the events reach the client while we are busy
        connected_inside_hook.append(stream.connected)
        assert rec.log == ["connect"]  # nothing handed to the handler yet

    stream = make_stream(fake, rec, subscribe_all=True, on_connect=on_connect)
    with capture_logs() as logs:
        await stream.start()
        try:
            await asyncio.wait_for(rec.done.wait(), 2)
            await stream.wait_connected(1)
        finally:
            await stream.stop()
    assert rec.log == ["connect", 0, 1, 2, 3, 4]
    assert connected_inside_hook == [False]
    assert [e["buffered"] for e in logs if e["event"] == "ari.ws.connected"] == [5]
    assert parse_qs(urlsplit(fake.paths[0]).query)["subscribeAll"] == ["true"]


async def test_reconnects_after_server_close_and_reruns_on_connect(fake: FakeAriWs) -> None:
    async def script(ws: ServerConnection, n: int) -> None:
        await ws.send(ev("StasisStart", n * 10))
        await ws.send(ev("StasisStart", n * 10 + 1))
        if n == 1:
            return  # server closes the first connection right away
        await ws.wait_closed()

    fake.script = script
    rec = Recorder(want=4)
    stream = make_stream(fake, rec)
    await stream.start()
    try:
        await asyncio.wait_for(rec.done.wait(), 2)
    finally:
        await stream.stop()
    assert rec.log == ["connect", 10, 11, "connect", 20, 21]
    assert len(fake.paths) == 2
    assert not stream.connected
    assert fake.close_codes[-1] == 1000  # stop() closed the websocket cleanly


async def until(cond: Callable[[], bool], timeout: float = 2.0) -> None:
    """Poll `cond` (captured log lines have no event to wait on)."""
    async with asyncio.timeout(timeout):
        while not cond():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def test_backoff_grows_while_down_then_resets(fake: FakeAriWs) -> None:
    port = fake.port
    await fake.stop()  # nothing listens on `port` now
    rec = Recorder(want=1)

    def waits(since: int = 0) -> list[float]:
        return [e["delay"] for e in logs[since:] if e["event"] == "ari.ws.reconnect_wait"]

    with capture_logs() as logs:
        stream = make_stream(fake, rec, backoff_initial=0.01, backoff_max=0.04, stable_after=0)
        await stream.start()
        try:
            with pytest.raises(TimeoutError):
                await stream.wait_connected(0.05)
            await until(lambda: len(waits()) >= 4)
            assert waits()[:4] == [0.01, 0.02, 0.04, 0.04]
            assert any(e["event"] == "ari.ws.connect_failed" for e in logs)
            assert rec.log == []

            async def once(ws: ServerConnection, n: int) -> None:
                await ws.send(ev("StasisStart", 7))  # then close: a short but good session

            fake.script = once
            await fake.start(port)
            await asyncio.wait_for(rec.done.wait(), 2)
            opened = next(i for i, e in enumerate(logs) if e["event"] == "ari.ws.connected")
            await until(lambda: len(waits(opened)) >= 1)
        finally:
            await stream.stop()
    assert rec.log[:2] == ["connect", 7]
    assert waits(opened)[0] == 0.01  # backoff reset after an established connection


def test_jitter_stays_within_fraction() -> None:
    async def noop(_: Event) -> None:
        return None

    stream = EventStream("ws://x/ari/events", "u", "p", "a", noop, jitter=0.3)
    delays = [stream.next_delay(1.0) for _ in range(500)]
    assert all(0.7 <= d <= 1.3 for d in delays)
    assert max(delays) - min(delays) > 0.2  # it does actually vary


async def test_handler_errors_and_bad_json_do_not_stop_stream(fake: FakeAriWs) -> None:
    async def script(ws: ServerConnection, n: int) -> None:
        await ws.send(ev("StasisStart", 0))
        await ws.send("{not json")
        await ws.send("[1, 2, 3]")
        await ws.send('{"type": 42}')
        await ws.send(ev("StasisStart", 1))
        await ws.send(ev("ChannelDtmfReceived", 2, channel="broken"))  # invalid -> generic
        await ws.send(ev("StasisStart", 3).encode())  # a binary frame decodes the same
        await ws.wait_closed()

    fake.script = script
    seen: list[Event] = []
    done = asyncio.Event()

    async def handler(event: Event) -> None:
        seen.append(event)
        if len(seen) == 4:
            done.set()
        if len(seen) == 1:
            raise RuntimeError("handler bug")

    stream = EventStream(fake.url, "u", "p", "confsvc", handler, backoff_initial=0.01)
    with capture_logs() as logs:
        await stream.start()
        try:
            await asyncio.wait_for(done.wait(), 2)
        finally:
            await stream.stop()
    assert [type(e) for e in seen] == [StasisStart, StasisStart, Event, StasisStart]
    assert seen[2].type == "ChannelDtmfReceived" and num(seen[3]) == 3
    names = [e["event"] for e in logs]
    assert "ari.ws.handler_failed" in names and "ari.event.invalid" in names
    malformed = [e for e in logs if e["event"] == "ari.ws.malformed"]
    assert [e["sample"] for e in malformed] == ["{not json", "[1, 2, 3]", '{"type": 42}']
    assert len(fake.paths) == 1  # never reconnected


async def test_on_connect_failure_reconnects(fake: FakeAriWs) -> None:
    async def script(ws: ServerConnection, n: int) -> None:
        await ws.send(ev("StasisStart", n))
        await ws.wait_closed()

    fake.script = script
    calls = 0
    got: list[int] = []
    done = asyncio.Event()

    async def on_connect() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("reconciliation failed")

    async def handler(event: Event) -> None:
        got.append(num(event))
        done.set()

    stream = EventStream(
        fake.url,
        "u",
        "p",
        "confsvc",
        handler,
        on_connect=on_connect,
        backoff_initial=0.01,
        jitter=0,
    )
    await stream.start()
    try:
        await asyncio.wait_for(done.wait(), 2)
    finally:
        await stream.stop()
    assert got == [2]  # events of the failed connection were not handed out
    assert calls == 2


async def test_stop_without_server_and_twice() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def noop(_: Event) -> None:
        return None

    stream = EventStream(
        f"ws://127.0.0.1:{port}/ari/events", "u", "p", "a", noop, backoff_initial=0.01
    )
    await stream.start()
    await asyncio.sleep(0.03)
    await stream.stop()
    await stream.stop()
    assert not stream.connected


async def test_bad_url_is_logged_without_credentials() -> None:
    async def noop(_: Event) -> None:
        return None

    stream = EventStream(
        "http://127.0.0.1:1/ari/events", "u", "hunter2", "a", noop, backoff_initial=0.01
    )
    with capture_logs() as logs:
        await stream.start()
        try:
            await until(lambda: any(e["event"] == "ari.ws.bad_url" for e in logs))
        finally:
            await stream.stop()
    assert "hunter2" not in repr(logs)
