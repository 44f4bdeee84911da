"""The webhook backlog scenario (issue 12 item 5): one tenant (`bench-backlog`) registers
W webhooks (every event type) to the bench's receiver, then creates C conferences as fast
as a few requests in flight allow: W x (the events they make) deliveries. Measured: how
fast they arrive at the receiver (bounded: the scenario gives up after `give_up` s and
reports what came), and `GET /v1/conferences` latency meanwhile for that tenant and for
another one (`bench`), against the same requests once the backlog is gone (its webhooks
deleted, so anything still pending is cancelled) on the same stored data."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from bench.controller import BACKLOG_TOKEN, TOKEN, ControllerProcess
from bench.procstat import CpuMeter
from bench.receiver import deliveries
from bench.stats import summary
from tests.support.events import Receiver

TENANTS = {"backlog_tenant": BACKLOG_TOKEN, "other_tenant": TOKEN}


@dataclass(frozen=True)
class Backlog:
    name: str = "webhook backlog: 20 webhooks x 200 conferences"
    webhooks: int = 20
    conferences: int = 200
    in_flight: int = 8  # conference creations at once
    give_up: float = 120.0  # seconds from the first creation
    idle_samples: int = 50  # GETs per tenant for the idle figure
    probe_interval: float = 0.05  # between two GETs while the backlog drains

    def describe(self) -> str:
        return (
            f"conferences created {self.in_flight} at a time, every event POSTed to every "
            "webhook; deliveries/s and GET /v1/conferences meanwhile "
            f"(gives up after {self.give_up:g} s)"
        )


async def _get_ms(api: ControllerProcess, token: str) -> float | None:
    """One GET /v1/conferences (the first page), ms; None when it is not a 200."""
    t = time.perf_counter()
    status, _ = await api.api("GET", "/conferences", token=token)
    return 1000 * (time.perf_counter() - t) if status == 200 else None


async def _idle(api: ControllerProcess, n: int) -> dict[str, list[float | None]]:
    out: dict[str, list[float | None]] = {k: [] for k in TENANTS}
    for _ in range(n):
        for key, token in TENANTS.items():
            out[key].append(await _get_ms(api, token))
        await asyncio.sleep(0.02)
    return out


async def _probe(
    api: ControllerProcess, interval: float, out: dict[str, list[float | None]]
) -> None:
    """GETs for both tenants in turn until cancelled."""
    while True:
        for key, token in TENANTS.items():
            out[key].append(await _get_ms(api, token))
        await asyncio.sleep(interval)


async def _expected(api: ControllerProcess, webhooks: int) -> int:
    """Deliveries the backlog should make: the tenant's stored events x its webhooks (a
    fresh tenant of a fresh store: all its events are this scenario's)."""
    count, since = 0, "0"
    for _ in range(1000):  # bounded paging
        status, body = await api.api(
            "GET", "/events", token=BACKLOG_TOKEN, since=since, page_size="100"
        )
        if status != 200:
            raise RuntimeError(f"GET /v1/events: {status} {body}")
        count += len(body["result"])
        if body.get("next_since") is None:
            break
        since = str(body["next_since"])
    return count * webhooks


async def _create(
    api: ControllerProcess, rooms: list[str], in_flight: int, times: list[float]
) -> int:
    gate = asyncio.Semaphore(in_flight)

    async def one(room: str) -> bool:
        async with gate:
            t = time.perf_counter()
            body = {"type": "conference", "room": room}
            status, _ = await api.api("POST", "/conferences", body, token=BACKLOG_TOKEN)
            times.append(1000 * (time.perf_counter() - t))
            return status == 201

    return sum(await asyncio.gather(*(one(r) for r in rooms)))


async def _drain(
    api: ControllerProcess, receiver: Receiver, prefix: str, webhooks: int, until: float
) -> tuple[int, bool]:
    """Wait until every expected delivery arrived, or the deadline; (expected, complete)."""
    await asyncio.sleep(1.0)  # the last bridges come up: their events join the count
    expected = await _expected(api, webhooks)
    while time.time() < until:
        if len(deliveries(receiver, prefix)[0]) >= expected:
            expected = await _expected(api, webhooks)  # nothing came meanwhile?
            if len(deliveries(receiver, prefix)[0]) >= expected:
                return expected, True
        await asyncio.sleep(0.25)
    return expected, False


def _rates(
    times: list[float], t0: float, end: float | None
) -> tuple[float | None, float | None, float]:
    """(mean deliveries/s from the first creation, best 1 s window, seconds): up to the
    last delivery when all came, else up to the end of the window (end)."""
    if not times:
        return None, None, 0.0
    span = (end if end is not None else max(times)) - t0
    per_second: dict[int, int] = {}
    for t in times:
        per_second[int(t - t0)] = per_second.get(int(t - t0), 0) + 1
    mean = round(len(times) / span, 1) if span > 0 else None
    return mean, float(max(per_second.values())), round(span, 2)


def _api_figures(
    before: dict[str, list[float | None]],
    during: dict[str, list[float | None]],
    after: dict[str, list[float | None]],
    created_at: dict[str, int],
) -> dict[str, Any]:
    """during: the whole window; also split where the last creation answered (created_at:
    samples taken by then), as the creations are API load of their own."""

    def fig(samples: list[float | None]) -> dict[str, Any]:
        return {**summary(s for s in samples if s is not None), "errors": samples.count(None)}

    return {
        key: {
            "idle_before": fig(before[key]),
            "during": fig(during[key]),
            "while_creating": fig(during[key][: created_at[key]]),
            "after_creating": fig(during[key][created_at[key] :]),
            "idle": fig(after[key]),
        }
        for key in TENANTS
    }


async def run(
    api: ControllerProcess, b: Backlog, tag: str, receiver: Receiver, meter: CpuMeter
) -> dict[str, Any]:
    """Run it; its webhooks and conferences are gone when it returns (or raises)."""
    prefix = f"/backlog/{tag}/"
    rooms = [f"{tag}c{i:03d}" for i in range(b.conferences)]
    hooks: list[str] = []
    create_ms: list[float] = []
    during: dict[str, list[float | None]] = {k: [] for k in TENANTS}
    probe: asyncio.Task[None] | None = None
    try:
        for i in range(b.webhooks):
            hooks.append(await api.add_webhook(f"{receiver.url}{prefix}{i}", [], BACKLOG_TOKEN))
        before = await _idle(api, b.idle_samples)
        cpu_a = meter.snap()
        t0 = time.time()
        probe = asyncio.create_task(_probe(api, b.probe_interval, during))
        created = await _create(api, rooms, b.in_flight, create_ms)
        create_s = round(time.time() - t0, 2)
        created_at = {k: len(v) for k, v in during.items()}
        expected, complete = await _drain(api, receiver, prefix, b.webhooks, t0 + b.give_up)
        t_end = time.time()
        cpu_b = meter.snap()
    finally:
        if probe is not None:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
        for hook in hooks:
            await api.delete_webhook(hook, BACKLOG_TOKEN)
    after = await _idle(api, b.idle_samples)
    await api.end_conferences(set(rooms), token=BACKLOG_TOKEN)
    # What came before the end of the window (not while the webhooks were being deleted).
    first, total = deliveries(receiver, prefix)
    got = [t for t in first.values() if t <= t_end]
    mean, peak, span = _rates(got, t0, None if complete else t_end)
    return {
        "name": b.name,
        "config": {
            "webhooks": b.webhooks,
            "conferences": b.conferences,
            "in_flight": b.in_flight,
            "give_up_s": b.give_up,
        },
        "created": created,
        "create_s": create_s,
        "create_ms": summary(create_ms),
        "deliveries": {
            "expected": expected,
            "received": len(got),
            "resent": total - len(first),
            "complete": complete,
            "drain_s": span,
            "per_s": mean,
            "peak_per_s": peak,
        },
        "api_ms": _api_figures(before, during, after, created_at),
        "cpu_pct": CpuMeter.percent(cpu_a, cpu_b),
    }
