"""The controller process: store + ARI client + event stream + engine + HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Iterable

import structlog
from aiohttp import web

from confsvc.api import create_app
from confsvc.ari import AriClient
from confsvc.config import Settings
from confsvc.engine import Engine
from confsvc.events import wiring as events_wiring
from confsvc.events.outbox import Outbox
from confsvc.events.ws import Hub
from confsvc.ha.forward import Forwarder
from confsvc.ha.ownership import Ownership
from confsvc.nodes import NodeSpec, parse_nodes
from confsvc.nodes.routes import NodeRoutes
from confsvc.nodes.runner import Nodes
from confsvc.ops import wiring as ops
from confsvc.ops.metrics import Metrics
from confsvc.outbound import OutboundPolicy
from confsvc.store.factory import make_store
from confsvc.store.pg import PgStore
from confsvc.store.sql_base import StoreUnavailable
from confsvc.transcribe.legs import LEG_PREFIX, is_leg

log = structlog.get_logger(__name__)


async def serve(settings: Settings) -> None:
    # Every part started is closed on the way out, also when a later part fails to start
    # (a busy HTTP port must end the process, not leave aiosqlite's thread holding it up).
    closers: list[Callable[[], Awaitable[object]]] = []
    try:
        await _run(settings, closers)
    finally:
        log.info("stopping")
        for close in reversed(closers):
            with contextlib.suppress(Exception):
                await close()


async def _run(settings: Settings, closers: list[Callable[[], Awaitable[object]]]) -> None:
    store = make_store(settings.store_url)
    try:
        await store.open()
    except StoreUnavailable as exc:  # database down, wrong password: say so, no traceback
        log.error("cannot open the store", error=str(exc))
        raise SystemExit(1) from None
    closers.append(store.close)
    metrics = Metrics()  # its own registry; handed to what records into it
    # One ARI client per media node behind one AriClient face (confsvc/nodes); one node,
    # the configured Asterisk, unless CONFSVC_NODES lists several.
    default = NodeSpec(
        settings.instance, settings.asterisk_host, settings.ari_port, settings.sip_port
    )
    engine: Engine | None = None

    def related(resource_id: str) -> str | None:
        """What a new channel or bridge belongs to: a dial-out channel its conference, a
        transcription leg its caller's channel."""
        if is_leg(resource_id):
            return resource_id[len(LEG_PREFIX) + 2 :]
        return engine.dialouts.lanes.get(resource_id) if engine is not None else None

    try:
        specs = parse_nodes(settings.nodes, default)
    except ValueError as exc:  # say which entry, no traceback
        log.error("bad CONFSVC_NODES", error=str(exc))
        raise SystemExit(1) from None
    nodes = Nodes(
        specs,
        user=settings.ari_user,
        password=settings.ari_password,
        app=settings.ari_app,
        down_after=settings.node_down_after,
        is_room=lambda bridge_id: not is_leg(bridge_id),
        related=related,
        client=lambda spec: AriClient(
            spec.ari_url,
            settings.ari_user,
            settings.ari_password,
            settings.ari_app,
            observe=metrics.ari_request,
        ),
    )
    ari = nodes.ari
    await ari.start()
    closers.append(ari.close)
    # One outbound URL policy for every URL we or Asterisk fetch (confsvc/outbound).
    outbound = OutboundPolicy.from_settings(settings)
    # Every save journalled into events + deliveries; the bus for non-state events.
    bus = events_wiring.connect(store, settings)
    engine = Engine(settings, store, ari, bus=bus, outbound=outbound)
    closers.append(engine.close)
    # Events are handled one at a time in arrival order; after every (re)connect the
    # engine reconciles with Asterisk before that connection's events are handed over.
    # Events: the store hands the WebSocket hub each commit's events, and the webhook /
    # callback deliverer (which reads the pending deliveries once, at start) their
    # deliveries; neither reads a table per commit.
    hub = Hub(store, queue_size=settings.ws_queue_size)
    # Its HTTP requests are made by worker processes applying the same policy (settings).
    outbox = Outbox(store, settings, observe=metrics.delivery_attempt)
    await hub.start()
    closers.append(hub.close)
    # PostgreSQL: several controllers may share the database and Asterisk; the one holding
    # the ownership lock drives ARI and delivers, the others forward HTTP to it (ha/).
    ownership = (
        Ownership(settings.store_url, settings.base_url) if isinstance(store, PgStore) else None
    )
    # A single SQLite controller serves at once, as it always did; an owner on PostgreSQL
    # once it has reconciled with Asterisk (a standby taking over has no rooms in memory).
    ready = asyncio.Event()
    if ownership is None:
        ready.set()
    forwarder = Forwarder(
        lambda: ownership is None or ownership.owner, ready.is_set, _owner_of(ownership)
    )
    closers.append(forwarder.close)
    # /ready and /metrics (confsvc/ops); /health stays liveness.
    operations = ops.attach(metrics, settings, store, engine, outbox, lambda: nodes.any_connected)
    node_routes = NodeRoutes(
        nodes.cluster,
        placement_secret=settings.placement_secret,
        operator_token=settings.metrics_token,
        room_bridge=lambda room: _one(c.id for c in engine.rooms.by_room(room)),
        reserve=settings.auto_create_rooms,
    )
    app = create_app(
        settings,
        store,
        engine,
        health=lambda: {
            "ari_connected": nodes.any_connected,
            "role": "owner" if ownership is None or ownership.owner else "standby",
        },
        hub=hub,
        extra_routes=[*operations, *node_routes.routes()],
        media_node=nodes.cluster.node_of_bridge,
        outer_middlewares=ops.middlewares(metrics),
    )
    app.middlewares.append(forwarder.middleware)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    closers.append(runner.cleanup)
    try:
        await web.TCPSite(runner, settings.http_host, settings.http_port).start()
    except OSError as exc:  # port taken, address not ours: say which, no traceback
        log.error("cannot listen", host=settings.http_host, port=settings.http_port, error=str(exc))
        raise SystemExit(1) from None
    log.info("http listening", url=f"http://{settings.http_host}:{settings.http_port}/v1")

    async def own_ari() -> None:
        """The owner's part: deliveries, ARI events (reconcile first), health checks."""
        await outbox.start()
        closers.append(outbox.close)
        # Events are handled one at a time per node in arrival order; after every
        # (re)connect the engine reconciles with Asterisk before that connection's events.
        await nodes.start(
            ops.timed_handler(metrics, engine.handle_event),
            ops.counted_connect(metrics, engine.on_connect),
            engine.on_connect,  # a node given up: its calls end, its rooms move
        )
        closers.append(nodes.stop)
        engine.start_health_checks()
        waiter = asyncio.create_task(_set_when_connected(nodes, ready))
        closers.append(lambda: _cancelled(waiter))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if ownership is None:
        await own_ari()
        await stop.wait()
        return
    closers.append(ownership.close)
    if not await ownership.try_acquire():
        log.info("standby: another controller owns the ARI application")
        await _first(ownership.acquire(), stop.wait())
        if stop.is_set():
            return
    log.info("owner of the ARI application", app=settings.ari_app)
    await own_ari()
    await _first(stop.wait(), ownership.lost.wait())
    if ownership.lost.is_set():  # someone else may own ARI by now: never drive it twice
        raise SystemExit(1)


def _owner_of(ownership: Ownership | None) -> Callable[[], Awaitable[str | None]]:
    async def owner_url() -> str | None:
        return None if ownership is None else await ownership.owner_url()

    return owner_url


async def _set_when_connected(nodes: Nodes, ready: asyncio.Event) -> None:
    await _first(*(s.wait_connected() for s in nodes.streams.values()))
    ready.set()


def _one(ids: Iterable[str]) -> str | None:
    found = list(ids)
    return found[0] if len(found) == 1 else None


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _first(*waits: Awaitable[object]) -> None:
    """Until the first of these is done; the others are cancelled."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
