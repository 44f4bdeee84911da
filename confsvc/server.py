"""The controller process: store + ARI client + event stream + engine + HTTP API."""

from __future__ import annotations

import asyncio
import signal

import structlog
from aiohttp import web

from confsvc.api import create_app
from confsvc.ari import AriClient, EventStream
from confsvc.config import Settings
from confsvc.engine import Engine
from confsvc.events.outbox import Outbox
from confsvc.events.ws import Hub
from confsvc.store import SqliteStore

log = structlog.get_logger(__name__)


async def serve(settings: Settings) -> None:
    store = SqliteStore(settings.db_path)
    await store.open()
    ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password, settings.ari_app)
    await ari.start()
    engine = Engine(settings, store, ari)
    # Events are handled one at a time in arrival order; after every (re)connect the
    # engine reconciles with Asterisk before that connection's events are handed over.
    stream = EventStream(
        settings.ari_ws_url,
        settings.ari_user,
        settings.ari_password,
        settings.ari_app,
        engine.handle_event,
        on_connect=engine.on_connect,
    )
    # Events: the WebSocket hub and the webhook/callback deliverer read the events table.
    hub = Hub(store, queue_size=settings.ws_queue_size)
    outbox = Outbox(store, settings)
    await hub.start()
    await outbox.start()
    app = create_app(
        settings, store, engine, health=lambda: {"ari_connected": stream.connected}, hub=hub
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    log.info("http listening", url=f"http://{settings.http_host}:{settings.http_port}/v1")
    await stream.start()
    engine.start_health_checks()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("stopping")
        await stream.stop()
        await runner.cleanup()
        await engine.close()
        await outbox.close()
        await hub.close()
        await ari.close()
        await store.close()
