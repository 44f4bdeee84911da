"""A loopback HTTP listener that records every request reaching it: the proof that a
refused URL sends nothing (outbound URL policy tests).

    /redirect…  302 to /landed (a client that follows redirects requests /landed)
    /endless    200 with a body that never ends (a client must not read it all)
    anything    200 "ok"
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Seen:
    method: str
    path: str
    query: str
    host: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Listener:
    port: int = 0
    seen: list[Seen] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            Seen(
                request.method,
                request.path,
                request.rel_url.raw_query_string,
                request.headers.get("Host", ""),
                await request.read(),
                dict(request.headers),
            )
        )
        self.arrived.set()
        if request.path.startswith("/redirect"):
            raise web.HTTPFound("/landed")
        if request.path == "/endless":
            resp = web.StreamResponse()
            await resp.prepare(request)
            chunk = b"x" * 65536
            try:
                while True:  # until the client goes away
                    await resp.write(chunk)
            except (ConnectionError, RuntimeError):
                return resp
        return web.Response(text="ok")


@asynccontextmanager
async def listening(port: int = 0) -> AsyncIterator[Listener]:
    """A started listener on 127.0.0.1 (port 0: any free port)."""
    listener = Listener()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", listener.handle)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    listener.port = server.port or 0
    try:
        yield listener
    finally:
        await server.close()
