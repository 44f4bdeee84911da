"""The controller process: for now ARI reachability and /health (the engine comes next)."""

from __future__ import annotations

import asyncio
import signal

import aiohttp
import structlog
from aiohttp import web

from confsvc.config import Settings

log = structlog.get_logger(__name__)


async def ari_version(settings: Settings) -> str:
    auth = aiohttp.encode_basic_auth(settings.ari_user, settings.ari_password)
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{settings.ari_url}/asterisk/info", headers={"Authorization": auth}) as r,
    ):
        r.raise_for_status()
        return str((await r.json())["system"]["version"])


async def serve(settings: Settings) -> None:
    version = await ari_version(settings)
    log.info("ari connected", url=settings.ari_url, asterisk=version)

    app = web.Application()

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "asterisk": version})

    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    log.info("http listening", host=settings.http_host, port=settings.http_port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
