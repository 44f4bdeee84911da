"""The seed's health check: every few seconds each joined caller's channel is checked;
after two failed checks in a row the caller is removed.

One ARI channel list per round (not one GET per caller), and lane work only for callers
whose count changes: a healthy room costs one HTTP call and no store write (the benchmark
showed per-caller GETs and no-op writes were the controller's whole steady-state CPU)."""

from __future__ import annotations

import asyncio

import structlog

from confsvc.ari import AriError
from confsvc.domain import ConferencecallStatus, ConferenceStatus, check_health, record_health
from confsvc.engine import leave
from confsvc.engine.core import EngineCore

log = structlog.get_logger(__name__)


async def check_once(core: EngineCore) -> None:
    # Calls first, channels after: a call listed here already had its channel, so a
    # missing channel in the later list really is gone (no false strike for a new caller).
    calls = [c for c in core.rooms.live_calls() if c.status is ConferencecallStatus.JOINED]
    if not calls:
        return
    progressing = {
        c.id for c in core.rooms.live_conferences()
        if c.status is ConferenceStatus.PROGRESSING
    }  # fmt: skip
    try:
        alive = {ch.id for ch in await core.ari.list_channels()}
    except AriError as exc:
        log.info("health round skipped: Asterisk unavailable", error=str(exc))
        return  # reconnect + reconcile will sort it out
    now = core.now()
    for call in calls:
        ok = check_health(
            call,
            channel_alive=call.reference_id in alive,
            conference_progressing=call.conference_id in progressing,
            now=now,
        )
        if ok and call.health_failures == 0:
            continue  # nothing changes: no lane work, no write

        async def fold(call_id: str = call.id, ok: bool = ok) -> None:
            current = await core.conferencecall(call_id)
            if current is None or current.status is not ConferencecallStatus.JOINED:
                return
            current, remove = record_health(current, ok)
            await core.save(None, current)
            if remove:
                log.warning("health check failed twice: removing", call=call_id)
                await core.hangup(current.reference_id)
                await leave.finish(core, current)

        core.lanes.fire(call.conference_id, fold, "health")


async def run(core: EngineCore, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await check_once(core)
        except Exception:
            log.exception("health check round failed")
