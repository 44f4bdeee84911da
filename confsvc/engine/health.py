"""The seed's health check: every few seconds each joined caller's channel is checked;
after two failed checks in a row the caller is removed."""

from __future__ import annotations

import asyncio

import structlog

from confsvc.ari import AriNotFound, AriUnavailable
from confsvc.domain import ConferencecallStatus, ConferenceStatus, check_health, record_health
from confsvc.engine import leave
from confsvc.engine.core import EngineCore

log = structlog.get_logger(__name__)


async def check_once(core: EngineCore) -> None:
    for call in await core.store.list_live_conferencecalls():
        if call.status is not ConferencecallStatus.JOINED:
            continue
        try:
            await core.ari.get_channel(call.reference_id)
            alive = True
        except AriNotFound:
            alive = False
        except AriUnavailable:
            return  # Asterisk itself is away: reconnect + reconcile will sort it out

        async def fold(call_id: str = call.id, alive: bool = alive) -> None:
            current = await core.store.get_conferencecall(call_id)
            if current is None or current.status is not ConferencecallStatus.JOINED:
                return
            conf = await core.store.get_conference(current.conference_id)
            ok = check_health(
                current,
                channel_alive=alive,
                conference_progressing=conf is not None
                and conf.status is ConferenceStatus.PROGRESSING,
                now=core.now(),
            )
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
