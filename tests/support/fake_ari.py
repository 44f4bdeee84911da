"""An in-memory stand-in for AriClient (the methods the engine calls), plus `api_harness`:
the real Engine and the real SqliteStore behind the real HTTP app on 127.0.0.1.

FakeAri records every call. With `auto_leave` (default on) a hangup of a channel the engine
tracks plays back what Asterisk would send (ChannelLeftBridge, then StasisEnd) through
`engine.handle_event`, so a kick ends in `leaved` after `engine.lanes.drain()`. Turn it off
to keep a kicked call in `leaving`."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from confsvc.api import create_app
from confsvc.ari import (
    AriNotFound,
    AriUnavailable,
    Bridge,
    Channel,
    ChannelEnteredBridge,
    ChannelLeftBridge,
    Playback,
    StasisEnd,
    StasisStart,
)
from confsvc.config import Settings
from confsvc.engine import Engine
from confsvc.store.sqlite import SqliteStore

TOKENS = {"tok-a": "cust-a", "tok-b": "cust-b"}
DIAL_HOST = "sip.test:5060"


@dataclass
class FakeAri:
    engine: Engine | None = None
    auto_leave: bool = True
    fail_create_bridge: bool = False
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    bridges: dict[str, Bridge] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)

    def _record(self, method: str, /, *args: Any, **kwargs: Any) -> None:
        self.calls.append((method, args, kwargs))

    def called(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(a, k) for n, a, k in self.calls if n == name]

    # --- bridges -----------------------------------------------------------------------

    async def create_bridge(
        self, bridge_id: str, *, type: str = "mixing", name: str | None = None
    ) -> Bridge:
        self._record("create_bridge", bridge_id, type=type, name=name)
        if self.fail_create_bridge:
            raise AriUnavailable(0, "POST", f"/bridges/{bridge_id}", "connection refused")
        bridge = Bridge(id=bridge_id, bridge_type=type, name=name or "")
        self.bridges[bridge_id] = bridge
        return bridge

    async def destroy_bridge(self, bridge_id: str) -> None:
        self._record("destroy_bridge", bridge_id)
        if self.bridges.pop(bridge_id, None) is None:
            raise AriNotFound(404, "DELETE", f"/bridges/{bridge_id}", "Bridge not found")

    async def list_bridges(self) -> list[Bridge]:
        self._record("list_bridges")
        return list(self.bridges.values())

    async def add_channel(
        self, bridge_id: str, channel_id: str | Sequence[str], **kwargs: Any
    ) -> None:
        self._record("add_channel", bridge_id, channel_id, **kwargs)
        bridge = self.bridges.get(bridge_id)
        if bridge is not None and isinstance(channel_id, str):
            bridge.channels.append(channel_id)

    async def remove_channel(self, bridge_id: str, channel_id: str | Sequence[str]) -> None:
        self._record("remove_channel", bridge_id, channel_id)
        bridge = self.bridges.get(bridge_id)
        if bridge is not None and channel_id in bridge.channels:
            bridge.channels.remove(channel_id)

    # --- channels ----------------------------------------------------------------------

    async def list_channels(self) -> list[Channel]:
        self._record("list_channels")
        return list(self.channels.values())

    async def get_channel(self, channel_id: str) -> Channel:
        self._record("get_channel", channel_id)
        try:
            return self.channels[channel_id]
        except KeyError:
            raise AriNotFound(404, "GET", f"/channels/{channel_id}", "Channel not found") from None

    async def answer(self, channel_id: str) -> None:
        self._record("answer", channel_id)

    async def play_on_channel(
        self,
        channel_id: str,
        media: str | Sequence[str],
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        self._record("play_on_channel", channel_id, media, playback_id=playback_id)
        return Playback(id=playback_id or "pb", media_uri=str(media), state="queued")

    async def hangup(
        self, channel_id: str, reason: str | None = "normal", *, reason_code: str | None = None
    ) -> None:
        self._record("hangup", channel_id, reason=reason)
        channel = self.channels.pop(channel_id, None)
        if channel is None:
            raise AriNotFound(404, "DELETE", f"/channels/{channel_id}", "Channel not found")
        in_bridge = [b for b in self.bridges.values() if channel_id in b.channels]
        for bridge in in_bridge:
            bridge.channels.remove(channel_id)
        if self.auto_leave and self.engine is not None:
            # What Asterisk sends next; the router only queues lane work, so calling it
            # from inside a lane (a kick's eject) cannot deadlock.
            for bridge in in_bridge:
                await self.engine.handle_event(
                    ChannelLeftBridge(type="ChannelLeftBridge", bridge=bridge, channel=channel)
                )
            await self.engine.handle_event(StasisEnd(type="StasisEnd", channel=channel))


_channel_ids = itertools.count(1)


@dataclass
class ApiHarness:
    client: TestClient[Any, Any]
    engine: Engine
    store: SqliteStore
    ari: FakeAri
    settings: Settings

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = "tok-a",
        json: Any = None,
        data: bytes | str | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(status, parsed JSON body). token None: no Authorization header."""
        hdrs = dict(headers or {})
        if token is not None:
            hdrs.setdefault("Authorization", f"Bearer {token}")
        kwargs: dict[str, Any] = {"headers": hdrs, "params": params}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        async with self.client.request(method, path, **kwargs) as resp:
            assert resp.content_type == "application/json", await resp.text()
            return resp.status, await resp.json()

    async def create(self, token: str = "tok-a", **fields: Any) -> dict[str, Any]:
        status, body = await self.request(
            "POST", "/v1/conferences", token=token, json={"type": "conference", **fields}
        )
        assert status == 201, body
        return body  # type: ignore[no-any-return]

    async def dial_in(self, room: str, *, name: str = "Alice", number: str = "1001") -> str:
        """A caller dials the room and its audio gets connected: returns the
        conferencecall id (status joined)."""
        channel = Channel.model_validate(
            {
                "id": f"chan-{next(_channel_ids)}",
                "name": f"PJSIP/{number}-0001",
                "state": "Ring",
                "caller": {"name": name, "number": number},
                "dialplan": {"app_name": "Stasis", "app_data": f"confsvc,{room}"},
            }
        )
        self.ari.channels[channel.id] = channel
        await self.engine.handle_event(
            StasisStart(type="StasisStart", args=[room], channel=channel)
        )
        await self.engine.lanes.drain()
        call_id = self.engine.channels[channel.id]
        conference_id = self.engine.call_conference[call_id]
        await self.engine.handle_event(
            ChannelEnteredBridge(
                type="ChannelEnteredBridge",
                bridge=self.ari.bridges[conference_id],
                channel=channel,
            )
        )
        await self.engine.lanes.drain()
        return call_id


@asynccontextmanager
async def api_harness(
    tmp_path: Path,
    *,
    health: Callable[[], dict[str, Any]] | None = None,
) -> AsyncIterator[ApiHarness]:
    settings = Settings(
        tokens=",".join(f"{t}:{c}" for t, c in TOKENS.items()),
        sip_host=DIAL_HOST,
        auto_create_rooms=False,
    )
    ari = FakeAri()
    async with SqliteStore(tmp_path / "api.sqlite3") as store:
        engine = Engine(settings, store, ari)  # type: ignore[arg-type]
        ari.engine = engine
        app = create_app(settings, store, engine, health=health)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            yield ApiHarness(client, engine, store, ari, settings)
        finally:
            await client.close()
            await engine.lanes.drain()
            await engine.close()
