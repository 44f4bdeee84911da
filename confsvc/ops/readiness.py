"""GET /ready: can this controller act right now? 503 with the reasons while ARI is
disconnected or the store does not answer, so a load balancer or orchestrator stops
sending it traffic. (GET /health stays a liveness check: 200 while the process runs.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from aiohttp import web
from pydantic import BaseModel

from confsvc.api.openapi import Route
from confsvc.store.base import Store

log = structlog.get_logger(__name__)

READY_PATH = "/ready"
# A store that takes longer than this to read one row by key cannot serve requests either.
STORE_TIMEOUT = 2.0
# A key no conference has: the probe is one primary-key read that finds nothing.
PROBE_ID = "readiness-probe"


class Readiness(BaseModel):
    status: str  # "ready" | "not_ready"
    ari_connected: bool
    store_ok: bool
    reasons: list[str] = []
    message: str = ""


class ReadinessCheck:
    def __init__(self, store: Store, ari_connected: Callable[[], bool]) -> None:
        self.store = store
        self.ari_connected = ari_connected

    async def check(self) -> Readiness:
        reasons: list[str] = []
        ari_ok = self.ari_connected()
        if not ari_ok:
            reasons.append("ari_disconnected")
        store_ok = await self._store_ok()
        if not store_ok:
            reasons.append("store_unreachable")
        return Readiness(
            status="not_ready" if reasons else "ready",
            ari_connected=ari_ok,
            store_ok=store_ok,
            reasons=reasons,
            message="; ".join(_MESSAGES[r] for r in reasons),
        )

    async def _store_ok(self) -> bool:
        try:
            await asyncio.wait_for(self.store.get_conference(PROBE_ID), STORE_TIMEOUT)
        except Exception as exc:  # any failure of the store is the answer, not a 500
            log.warning("readiness: store probe failed", error=repr(exc))
            return False
        return True

    async def get_ready(self, _: web.Request) -> web.Response:
        result = await self.check()
        return web.json_response(result.model_dump(), status=503 if result.reasons else 200)

    def routes(self) -> list[Route]:
        return [
            Route(
                "GET",
                READY_PATH,
                self.get_ready,
                "ready",
                "Readiness: 200 when ARI is connected and the store answers, else 503",
                Readiness,
                also=((503, Readiness),),
                public=True,
                tags=("service",),
            )
        ]


_MESSAGES = {
    "ari_disconnected": "not connected to Asterisk (ARI)",
    "store_unreachable": f"the store did not answer within {STORE_TIMEOUT:g}s",
}
