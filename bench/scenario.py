"""One scenario on one path: ramp N callers into R rooms at a given rate, hold them with
audio flowing, kick some (controller path), hang the rest up; then the figures.

A town hall (kind "townhall") puts its callers in rooms the controller path creates through
the API first, with room for every caller; a controller whose room ceiling is lower (the
seed's 20) gets the callers that fit, and the row says so (`room_limit`)."""

from __future__ import annotations

import asyncio
import math
import re
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
# Scenario kinds: "paced": the offered rate is below what either path can take (join
# latency is compared there); "saturation": offered far above it (the join rate is
# compared); "townhall": paced, all callers in one room; "events": controller path only,
# with a webhook receiver and a WebSocket client timing the events (bench/latency.py).
PACED, SATURATION, TOWNHALL, EVENTS = "paced", "saturation", "townhall", "events"
_CEILING_RE = re.compile(r"between 1 and (\d+)")


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
    kind: str = PACED

    def describe(self, path: str) -> str:
        """What it does, in one line (the progress line at its start)."""
        room = "one room" if self.rooms == 1 else f"{self.rooms} rooms"
        kicks = f", {self.kicks} API kicks" if path == ARI and self.kicks else ""
        return (
            f"{self.callers} callers into {room} at {self.rate:g} joins/s, "
            f"hold {self.hold:g} s{kicks}"
        )


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


async def run(
    ctx: Context, sc: Scenario, path: str, tag: str, calls: list[Call] | None = None
) -> dict[str, Any]:
    """Run it; every call it made is gone when it returns (or raises). calls: a list to
    fill with the scenario's calls, for a caller that wants them afterwards."""
    lg = ctx.loadgen
    rooms = [f"{tag}r{j:02d}" for j in range(sc.rooms)]
    calls = [] if calls is None else calls
    profile: dict[str, Any] = {}
    spy: PySpy | None = None
    callers, limit = sc.callers, None
    try:
        if sc.kind == TOWNHALL and path == ARI:
            limit = await open_rooms(ctx.controller, rooms, math.ceil(sc.callers / sc.rooms))
            callers = min(sc.callers, limit["max_participants"] * sc.rooms)
        spy = await _profiled(ctx, "ramp", tag, callers / sc.rate + 30)
        ramp = await _ramp(ctx, sc, path, tag, rooms, calls, callers)
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
    if limit is not None:
        res["room_limit"] = limit
    if profile:
        res["profile"] = profile
    return res


def ceiling_of(answer: Any) -> int | None:
    """The room ceiling a 422 on max_participants names ("must be between 1 and 20 ...")."""
    if not isinstance(answer, dict):
        return None
    m = _CEILING_RE.search(str(answer.get("message", "")))
    return int(m.group(1)) if m else None


async def open_rooms(api: ControllerProcess, rooms: list[str], size: int) -> dict[str, Any]:
    """Create the rooms through the API with max_participants=size, or the controller's
    ceiling when it refuses size; wait until their bridges are up."""
    asked, got = size, size
    for room in rooms:
        status, answer = await api.create_conference(room, got)
        if status == 422 and (ceiling := ceiling_of(answer)) is not None and ceiling < got:
            got = ceiling
            status, answer = await api.create_conference(room, got)
        if status != 201:
            raise RuntimeError(f"POST /v1/conferences {room}: {status} {answer}")
        if not await api.wait_progressing(answer["id"]):
            raise RuntimeError(f"conference {room} never came up")
    return {"asked": asked, "max_participants": got, "capped": got < asked}


async def _ramp(
    ctx: Context,
    sc: Scenario,
    path: str,
    tag: str,
    rooms: list[str],
    calls: list[Call],
    callers: int,
) -> tuple[Snapshot, Snapshot]:
    lg = ctx.loadgen
    a = ctx.meter.snap()
    start = time.monotonic()
    for i in range(callers):
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
