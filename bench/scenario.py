"""One scenario on one path: ramp N callers into R rooms at a given rate, hold them with
audio flowing, kick some (controller path), hang the rest up; then the figures."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.controller import ControllerProcess
from bench.loadgen import Call, LoadGen
from bench.procstat import CpuMeter, Snapshot
from bench.profiler import PySpy
from bench.stats import summary

ARI = "ari"
CONFBRIDGE = "confbridge"
PATHS = (CONFBRIDGE, ARI)


@dataclass(frozen=True)
class Scenario:
    name: str
    callers: int
    rooms: int
    rate: float  # joins offered per second
    hold: float  # seconds of steady state measured
    kicks: int = 0  # controller path only: API kicks after the hold
    settle: float = 2.0  # seconds between the last join and the steady window
    teardown_rate: float = 50.0
    # "paced": the offered rate is below what either path can take (join latency is
    # compared there); "saturation": offered far above it (the join rate is compared).
    kind: str = "paced"


@dataclass
class Context:
    loadgen: LoadGen
    controller: ControllerProcess
    meter: CpuMeter  # names: sut, controller, loadgen, harness
    profile_dir: Path | None = None  # set: py-spy the controller during ramp and steady


async def _profiled(ctx: Context, phase: str, tag: str, seconds: float) -> PySpy | None:
    if ctx.profile_dir is None:
        return None
    spy = PySpy(ctx.controller.pid, ctx.profile_dir / f"py-spy-{tag}-{phase}.txt")
    await spy.start(seconds)
    return spy


def target(path: str, room: str) -> str:
    return room if path == ARI else f"cb-{room}"


async def run(ctx: Context, sc: Scenario, path: str, tag: str) -> dict[str, Any]:
    """Run it; every call it made is gone when it returns (or raises)."""
    lg = ctx.loadgen
    rooms = [f"{tag}r{j:02d}" for j in range(sc.rooms)]
    calls: list[Call] = []
    profile: dict[str, Any] = {}
    spy: PySpy | None = None
    try:
        spy = await _profiled(ctx, "ramp", tag, sc.callers / sc.rate + 30)
        ramp = await _ramp(ctx, sc, path, tag, rooms, calls)
        if spy is not None:
            profile["ramp"], spy = await spy.finish(), None
        await asyncio.sleep(sc.settle)
        spy = await _profiled(ctx, "steady", tag, sc.hold + 30)
        steady_a = ctx.meter.snap()
        await asyncio.sleep(sc.hold)
        steady_b = ctx.meter.snap()
        if spy is not None:
            profile["steady"], spy = await spy.finish(), None
        rss = ctx.meter.rss("controller")
        kicks = await _kicks(ctx, sc, calls) if path == ARI and sc.kicks else []
    finally:
        if spy is not None:
            await spy.stop()
        await _teardown(lg, calls, sc.teardown_rate)
        lg.forget(calls)
        if path == ARI:
            await ctx.controller.end_conferences(set(rooms))
    res = _figures(sc, path, calls, ramp, (steady_a, steady_b), rss, kicks)
    if profile:
        res["profile"] = profile
    return res


async def _ramp(
    ctx: Context, sc: Scenario, path: str, tag: str, rooms: list[str], calls: list[Call]
) -> tuple[Snapshot, Snapshot]:
    lg = ctx.loadgen
    a = ctx.meter.snap()
    start = time.monotonic()
    for i in range(sc.callers):
        delay = start + i / sc.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        room = rooms[i % len(rooms)]  # round robin: the first R calls open the rooms
        calls.append(lg.dial(f"{tag}-{i:04d}", room, target(path, room), 300 + 37 * (i % 20)))
    await lg.wait_until(lambda: all(c.t_up is not None or c.ended for c in calls), 20)
    await lg.settle()
    return a, ctx.meter.snap()


async def _kicks(ctx: Context, sc: Scenario, calls: list[Call]) -> list[dict[str, Any]]:
    """DELETE /v1/conferencecalls/{id}, one at a time; latency to the BYE at the caller."""
    lg, api = ctx.loadgen, ctx.controller
    live = [c for c in calls if c.live and c.t_remote_hangup is None]
    step = max(1, len(live) // max(sc.kicks, 1))
    victims = live[::step][: sc.kicks]
    # Map our calls to conferencecall ids first (by caller name), outside the timing.
    confs = await api.live_conferences()
    ids: dict[str, str] = {}
    for room in {c.room for c in victims}:
        if room in confs:
            ids.update(await api.joined_calls(confs[room]))
    out: list[dict[str, Any]] = []
    for call in victims:
        cc_id = ids.get(call.id)
        if cc_id is None:
            out.append({"call": call.id, "error": "no conferencecall for this caller"})
            continue
        sent = time.time()
        status = await api.kick(cc_id)
        answered = time.time()
        await lg.wait_until(lambda c=call: c.t_remote_hangup is not None or c.ended, 5)
        bye = call.t_remote_hangup
        out.append(
            {
                "call": call.id,
                "status": status,
                "api_ms": round(1000 * (answered - sent), 2),
                "bye_ms": None if bye is None else round(1000 * (bye - sent), 2),
            }
        )
        await asyncio.sleep(0.15)
    return out


async def _teardown(lg: LoadGen, calls: list[Call], rate: float) -> None:
    await lg.settle()
    for call in calls:
        if not call.ended:
            lg.hangup(call)
            await asyncio.sleep(1 / rate)
    await lg.wait_until(lambda: all(c.ended for c in calls), 20)
    await lg.settle()


def _figures(
    sc: Scenario,
    path: str,
    calls: list[Call],
    ramp: tuple[Snapshot, Snapshot],
    steady: tuple[Snapshot, Snapshot],
    rss: float | None,
    kicks: list[dict[str, Any]],
) -> dict[str, Any]:
    up = [c for c in calls if c.t_up is not None]
    failed = [c for c in calls if c.t_up is None]
    kicked = {k["call"] for k in kicks}
    dropped = [
        c.id
        for c in up
        if c.t_remote_hangup is not None and c.id not in kicked and c.t_local_hangup is None
    ]
    ramp_used = CpuMeter.used(*ramp)
    joins = max(len(up), 1)
    span = (max(c.t_up for c in up) - min(c.t_originate for c in calls)) if up else 0.0
    jitter_end = [1000 * c.qos["rxjitter"] for c in up if "rxjitter" in c.qos]
    jitter_max = [
        1000 * max(c.qos.get("maxrxjitter", 0.0), c.qos["rxjitter"])
        for c in up
        if "rxjitter" in c.qos
    ]
    received = sum(c.qos.get("rxcount", 0.0) for c in up)
    lost = sum(c.qos.get("lp", 0.0) for c in up)
    bye = [k["bye_ms"] for k in kicks if k.get("bye_ms") is not None]
    return {
        "scenario": asdict(sc),
        "path": path,
        "calls": len(calls),
        "up": len(up),
        "failed": len(failed),
        "failed_reasons": sorted({c.error or f"cause {c.cause}" for c in failed})[:5],
        "dropped": len(dropped),
        "join_ms": summary(c.join_ms for c in up if c.join_ms is not None),
        "audio_ms": summary(c.audio_ms for c in up if c.audio_ms is not None),
        "join_rate": round(len(up) / span, 2) if span > 0 else None,
        "ramp_s": round(span, 2),
        "cpu_ms_per_join": {k: round(1000 * v / joins, 2) for k, v in ramp_used.items()},
        "cpu_ramp_pct": CpuMeter.percent(*ramp),
        "cpu_steady_pct": CpuMeter.percent(*steady),
        "controller_rss_mb": rss,
        "jitter_ms": summary(jitter_end, 3),
        "max_jitter_ms": summary(jitter_max, 3),
        "loss_pct": round(100 * lost / (received + lost), 4) if received + lost else None,
        "qos_calls": len(jitter_end),
        "kick_ms": summary(bye, 2) if kicks else None,
        "kick_api_ms": summary((k["api_ms"] for k in kicks if "api_ms" in k), 2) if kicks else None,
        "kick_errors": len([k for k in kicks if k.get("bye_ms") is None]),
        "kick_samples": kicks,
    }
