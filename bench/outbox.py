"""The webhook outbox draining a backlog (issue 12, item 5), without Asterisk.

    python -m bench.outbox [--webhooks 20] [--conferences 200] [--backlog-first]
                           [--profile FILE]

This process is the controller: the real SqliteStore, Engine (behind the in-memory fake
ARI of tests/support/fake_ari.py), WebSocket hub, Outbox and HTTP API on 127.0.0.1, as
server.py wires them. A child process holds the local webhook receiver (aiohttp) and the
API prober, so their CPU is not the controller's event loop's.

Both tenants first get a page of conferences to list; then tenant A subscribes
`--webhooks` webhooks (every event) to the receiver and creates `--conferences`
conferences at once, 20 at a time; tenant B creates nothing. The prober lists each
tenant's page in turn, one request at a time. Printed (JSON, then a summary line):
deliveries/s overall and after the creations, controller CPU (the process, and the event
loop's thread alone), GET /v1/conferences latency p50/p99 idle, while creating, while
draining, and the event loop's lag. `--backlog-first` stops the outbox during the
creations and starts a new one afterwards (a restart with a backlog).
Results of a run kept for the record: bench/results/*-outbox.md."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import multiprocessing
import sqlite3
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from confsvc.api import create_app
from confsvc.config import Settings
from confsvc.domain import new_id, now
from confsvc.engine import Engine
from confsvc.events import wiring as events_wiring
from confsvc.events.model import Webhook
from confsvc.events.outbox import Outbox
from confsvc.events.ws import Hub
from confsvc.logging import configure
from confsvc.outbound import OutboundPolicy
from confsvc.store.sqlite import SqliteStore
from tests.support.fake_ari import FakeAri

TENANT_A, TENANT_B = "bench-a", "bench-b"
TOKENS = {TENANT_A: "tok-bench-a", TENANT_B: "tok-bench-b"}
LIST = "/v1/conferences"
LISTED = 10  # conferences per tenant before the scenario: the page the prober gets

# --- the child: receiver + prober ---------------------------------------------------------


@dataclass
class ReceiverState:
    count: int = 0
    first_at: float = 0.0
    last_at: float = 0.0
    probes: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # (at, s)
    probing: asyncio.Task[None] | None = None


async def _probe(state: ReceiverState, base: str, interval: float) -> None:
    """GET the conference list of each tenant in turn, one request at a time."""
    async with aiohttp.ClientSession() as http:
        while True:
            for tenant, token in TOKENS.items():
                headers = {"Authorization": f"Bearer {token}"}
                at, t0 = time.time(), time.perf_counter()
                params = {"page_size": str(LISTED)}
                async with http.get(base + LIST, headers=headers, params=params) as resp:
                    await resp.read()
                    resp.raise_for_status()
                took = time.perf_counter() - t0
                state.probes.setdefault(tenant, []).append((at, took))
                await asyncio.sleep(interval)


def receiver_app(state: ReceiverState) -> web.Application:
    async def hook(request: web.Request) -> web.Response:
        await request.read()
        at = time.time()
        if state.count == 0:
            state.first_at = at
        state.count += 1
        state.last_at = at
        return web.Response(text="ok")

    async def reset(_: web.Request) -> web.Response:
        state.count, state.first_at, state.last_at = 0, 0.0, 0.0
        return web.json_response({})

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(
            {"count": state.count, "first_at": state.first_at, "last_at": state.last_at}
        )

    async def probe_start(request: web.Request) -> web.Response:
        body = await request.json()
        state.probes = {}
        state.probing = asyncio.create_task(_probe(state, body["base"], body["interval"]))
        return web.json_response({})

    async def probe_stop(_: web.Request) -> web.Response:
        if state.probing is not None:
            state.probing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await state.probing
            state.probing = None
        return web.json_response(state.probes)

    app = web.Application()
    app.router.add_post("/hook/{n}", hook)
    app.router.add_get("/stats", stats)
    app.router.add_post("/stats/reset", reset)
    app.router.add_post("/probe/start", probe_start)
    app.router.add_post("/probe/stop", probe_stop)
    return app


async def _child_main(conn: Connection) -> None:
    runner = web.AppRunner(receiver_app(ReceiverState()), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    conn.send(port)
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # "stop"
    await runner.cleanup()


def child_main(conn: Connection) -> None:
    asyncio.run(_child_main(conn))


# --- the controller (this process) ---------------------------------------------------------


@dataclass
class Controller:
    settings: Settings
    store: SqliteStore
    engine: Engine
    outbox: Outbox
    base: str


@contextlib.asynccontextmanager
async def controller(tmp: Path) -> AsyncIterator[Controller]:
    settings = Settings(
        tokens=",".join(f"{tok}:{tenant}" for tenant, tok in TOKENS.items()),
        webhook_secrets=f"{TENANT_A}:bench-secret-a,{TENANT_B}:bench-secret-b",
        outbound_allow="127.0.0.1/32",
        db_path=str(tmp / "confsvc.sqlite3"),
        data_dir=str(tmp / "data"),
        sip_host="sip.test:5060",
        http_port=0,
    )
    store = SqliteStore(settings.db_path)
    await store.open()
    outbound = OutboundPolicy.from_settings(settings)
    ari = FakeAri()
    bus = events_wiring.connect(store, settings)  # as server.py wires it
    engine = Engine(settings, store, ari, bus=bus, outbound=outbound)  # type: ignore[arg-type]
    ari.engine = engine
    hub = Hub(store, queue_size=settings.ws_queue_size)
    outbox = Outbox(store, settings)  # requests made by a worker process, as in serve
    await hub.start()
    runner = web.AppRunner(create_app(settings, store, engine, hub=hub), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    ctl = Controller(settings, store, engine, outbox, f"http://127.0.0.1:{runner.addresses[0][1]}")
    try:
        yield ctl
    finally:
        await runner.cleanup()
        await ctl.outbox.close()
        await hub.close()
        await engine.close()
        await store.close()


def count_rows(db_path: str) -> int:
    """Every delivery row, in one statement (summing counts per status would count a row
    that changes status in between twice)."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0])


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"n": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    parent_conn, child_conn = ctx.Pipe()
    child = ctx.Process(target=child_main, args=(child_conn,), daemon=True)
    child.start()
    try:
        rx_port = await asyncio.get_running_loop().run_in_executor(None, parent_conn.recv)
        rx = f"http://127.0.0.1:{rx_port}"
        with tempfile.TemporaryDirectory() as tmp:
            async with controller(Path(tmp)) as c, aiohttp.ClientSession() as http:
                return await scenario(args, c, http, rx)
    finally:
        parent_conn.send("stop")
        child.join(10)
        if child.is_alive():
            child.kill()


async def probe(http: aiohttp.ClientSession, rx: str, action: str, **body: Any) -> Any:
    async with http.post(f"{rx}/probe/{action}", json=body) as resp:
        return await resp.json()


async def watch_lag(samples: list[tuple[float, float]], interval: float = 0.005) -> None:
    """How late the controller's event loop runs a timer: what any request waits for."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + interval
        await asyncio.sleep(interval)
        samples.append((time.time(), loop.time() - due))


async def scenario(
    args: argparse.Namespace, c: Controller, http: aiohttp.ClientSession, rx: str
) -> dict[str, Any]:
    await c.outbox.start()
    # A full page for each tenant to list before any webhook exists: the list costs the
    # same idle and later, whatever the tenant creates meanwhile.
    for n in range(LISTED):
        await c.engine.create_conference(TENANT_B, type="conference", room=f"b_{n}")
        await c.engine.create_conference(TENANT_A, type="conference", room=f"a_idle_{n}")
    for n in range(args.webhooks):
        await c.store.create_webhook(Webhook(new_id(), TENANT_A, f"{rx}/hook/{n}", (), now()))

    await probe(http, rx, "start", base=c.base, interval=args.probe_interval)
    await asyncio.sleep(args.seconds_idle)
    idle = await probe(http, rx, "stop")

    before_total = count_rows(c.settings.db_path)
    if args.backlog_first:
        await c.outbox.close()  # the backlog builds up first, then drains
    await probe(http, rx, "start", base=c.base, interval=args.probe_interval)
    lag: list[tuple[float, float]] = []
    watcher = asyncio.create_task(watch_lag(lag))
    cpu0, loop0, start = time.process_time(), time.thread_time(), time.time()
    sem = asyncio.Semaphore(args.create_concurrency)

    async def create(n: int) -> None:
        async with sem:
            await c.engine.create_conference(TENANT_A, type="conference", room=f"a_{n}")

    await asyncio.gather(*(create(n) for n in range(args.conferences)))
    if args.backlog_first:
        # As after a restart: serve loads the pending rows before the API opens, so the
        # drain is measured from the end of the load.
        c.outbox = Outbox(c.store, c.settings)
        await c.outbox.start()
    created, cpu_created, loop_created = time.time(), time.process_time(), time.thread_time()
    expected = count_rows(c.settings.db_path) - before_total
    at_created = await receiver_stats(http, rx)
    stats = at_created
    deadline = time.monotonic() + args.timeout
    while stats["count"] < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        stats = await receiver_stats(http, rx)
    cpu, loop_cpu = time.process_time() - cpu0, time.thread_time() - loop0
    watcher.cancel()
    busy = await probe(http, rx, "stop")
    got, end = stats["count"], max(stats["last_at"], created)
    tail = got - at_created["count"]
    return {
        "webhooks": args.webhooks,
        "conferences": args.conferences,
        "deliveries": expected,
        "delivered": got,
        "complete": got >= expected,
        "create_s": round(created - start, 2),
        "drain_s": round(end - start, 2),
        "deliveries_per_s": round(got / max(end - start, 1e-9), 1),
        "after_creation": {
            "deliveries": tail,
            "seconds": round(end - created, 2),
            "per_s": round(tail / max(end - created, 1e-9), 1),
            "controller_cpu_s": round(cpu0 + cpu - cpu_created, 2),
            "event_loop_cpu_s": round(loop0 + loop_cpu - loop_created, 2),
        },
        # The whole process (its SQLite threads too), and the event loop's thread alone.
        "controller_cpu_s": round(cpu, 2),
        "event_loop_cpu_s": round(loop_cpu, 2),
        "controller_cpu_ms_per_delivery": round(cpu * 1000 / max(got, 1), 3),
        "api_idle": phase(idle, 0.0, float("inf")),
        "api_creating": phase(busy, start, created),
        "api_draining": phase(busy, created, end),
        "api_whole": phase(busy, start, end),
        "loop_lag": {
            "creating": percentiles([x for at, x in lag if start <= at < created]),
            "draining": percentiles([x for at, x in lag if created <= at < end]),
        },
    }


async def receiver_stats(http: aiohttp.ClientSession, rx: str) -> dict[str, Any]:
    async with http.get(f"{rx}/stats") as resp:
        return await resp.json()  # type: ignore[no-any-return]


def phase(probes: dict[str, list[list[float]]], start: float, end: float) -> dict[str, Any]:
    """Latencies of the probes sent between start and end (epoch seconds): per tenant, and
    of both (the same request: one page of LISTED conferences)."""
    out = {t: percentiles([s for at, s in v if start <= at < end]) for t, v in probes.items()}
    out["both"] = percentiles([s for v in probes.values() for at, s in v if start <= at < end])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=20)
    parser.add_argument("--conferences", type=int, default=200)
    parser.add_argument("--create-concurrency", type=int, default=20)
    parser.add_argument("--seconds-idle", type=float, default=3.0)
    parser.add_argument("--probe-interval", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument(
        "--backlog-first",
        action="store_true",
        help="stop the outbox while the conferences are created, start it afterwards "
        "(a restart with a backlog); the drain is measured from the end of its load",
    )
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the controller to FILE")
    args = parser.parse_args()
    configure(args.log_level, "json")
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    result = asyncio.run(run(args))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    print(json.dumps(result, indent=2))
    idle = result["api_idle"]["both"]["p99_ms"]
    busy = result["api_whole"]["both"]["p99_ms"]
    print(
        f"{result['delivered']}/{result['deliveries']} deliveries in {result['drain_s']} s: "
        f"{result['deliveries_per_s']}/s ({result['after_creation']['per_s']}/s after the "
        f"creations); GET {LIST} p99 idle {idle} ms, meanwhile {busy} ms "
        f"({busy / max(idle, 1e-9):.1f}x)"
    )


if __name__ == "__main__":
    main()
