"""The floor of the ARI path: the least an ARI application must do to put a dialled caller in
a room, run by `python -m bench --floor` in the controller's place (same app name, settings,
libraries: aiohttp for REST, websockets and msgspec for events).

On StasisStart(room): the room's mixing bridge on first use, answer, add to the bridge;
nothing stored, no events. What the benchmark measures for it is what ARI itself
costs a join (Asterisk's event, its REST requests, one Python hop), so confsvc's own cost is
its row minus this one, and a target this app cannot meet cannot be met by any ARI controller
on the same machine. It serves only what the harness asks of a controller: GET /health, the
rooms and their callers (GET /v1/conferences, /v1/conferencecalls), a kick (DELETE of a
conferencecall: an ARI hangup) and the end of a room (DELETE of a conference).

Not bench/ari.py's client: that one is the load generator's (stdlib json, aiohttp's
websocket, subscribeAll), and the floor must cost what confsvc's own stack costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import aiohttp
import msgspec
from aiohttp import web
from websockets.asyncio.client import connect

from confsvc.config import Settings

EVENTS = ["StasisStart", "StasisEnd"]


class Floor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http: aiohttp.ClientSession | None = None
        self.bridges: dict[str, asyncio.Task[None]] = {}  # room -> its bridge's creation
        self.connected = False
        self.callers: dict[str, dict[str, str]] = {}  # room -> channel id -> caller name
        self.tasks: set[asyncio.Task[None]] = set()

    async def request(self, method: str, path: str) -> None:
        assert self.http is not None
        async with self.http.request(method, f"{self.settings.ari_url}/{path}") as r:
            await r.read()
            if r.status >= 300:
                raise RuntimeError(f"{method} {path}: {r.status}")

    async def join(self, channel_id: str, room: str, name: str) -> None:
        bridge = self.bridges.get(room)
        if bridge is None:
            coro = self.request("POST", f"bridges/floor-{room}?type=mixing&name={room}")
            bridge = self.bridges[room] = asyncio.ensure_future(coro)
        try:
            await self.request("POST", f"channels/{channel_id}/answer")
            await bridge
            await self.request("POST", f"bridges/floor-{room}/addChannel?channel={channel_id}")
            self.callers.setdefault(room, {})[channel_id] = name
        except (RuntimeError, aiohttp.ClientError):
            pass  # the caller hung up meanwhile

    async def events(self) -> None:
        s = self.settings
        url = f"ws://{s.asterisk_host}:{s.ari_port}/ari/events?app={s.ari_app}&subscribeAll=false"
        auth = {"Authorization": aiohttp.encode_basic_auth(s.ari_user, s.ari_password)}
        decode = msgspec.json.Decoder().decode
        async with connect(url, additional_headers=auth) as ws:
            assert self.http is not None
            body = {"filter": {"allowed": [{"type": t} for t in EVENTS]}}
            async with self.http.put(
                f"{s.ari_url}/applications/{s.ari_app}/eventFilter", json=body
            ) as r:
                await r.read()
            self.connected = True
            async for message in ws:
                event = decode(message)
                channel = event.get("channel") or {}
                if event.get("type") == "StasisStart" and event.get("args"):
                    name = channel.get("caller", {}).get("name", "")
                    task = asyncio.create_task(self.join(channel["id"], event["args"][0], name))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
                elif event.get("type") == "StasisEnd":
                    for callers in self.callers.values():
                        callers.pop(channel.get("id", ""), None)

    async def rooms(self, _: web.Request) -> web.Response:
        return web.json_response({"result": [{"id": r, "room": r} for r in self.bridges]})

    async def calls(self, request: web.Request) -> web.Response:
        callers = self.callers.get(request.query.get("conference_id", ""), {})
        found = [{"id": c, "caller": {"name": n}} for c, n in callers.items()]
        return web.json_response({"result": found})

    async def kick(self, request: web.Request) -> web.Response:
        with contextlib.suppress(RuntimeError, aiohttp.ClientError):
            await self.request("DELETE", f"channels/{request.match_info['id']}")
        return web.json_response({})

    async def end(self, request: web.Request) -> web.Response:
        room = request.match_info["id"]
        if self.bridges.pop(room, None) is not None:
            self.callers.pop(room, None)
            with contextlib.suppress(RuntimeError, aiohttp.ClientError):
                await self.request("DELETE", f"bridges/floor-{room}")
        return web.json_response({})

    async def serve(self) -> None:
        s = self.settings
        auth = aiohttp.encode_basic_auth(s.ari_user, s.ari_password)
        connector = aiohttp.TCPConnector(limit=64, keepalive_timeout=10)
        self.http = aiohttp.ClientSession(connector=connector, headers={"Authorization": auth})
        app = web.Application()
        health = {"ari_connected": True}
        app.router.add_get("/health", lambda _: web.json_response(health if self.connected else {}))
        app.router.add_get("/v1/conferences", self.rooms)
        app.router.add_get("/v1/conferencecalls", self.calls)
        app.router.add_delete("/v1/conferencecalls/{id}", self.kick)
        app.router.add_delete("/v1/conferences/{id}", self.end)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", s.http_port).start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        events = asyncio.create_task(self.events())
        await stop.wait()
        events.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await events
        await runner.cleanup()
        await self.http.close()


if __name__ == "__main__":
    asyncio.run(Floor(Settings()).serve())
