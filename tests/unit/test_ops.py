"""The operating parts without Asterisk: readiness reasons (the store's too), the access
log middleware (status, ids bound, request id), the metrics' bounded ARI labels and the
/metrics token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from confsvc.api.auth import auth_middleware
from confsvc.api.errors import ApiError, error_middleware
from confsvc.engine.dispatcher import Dispatcher
from confsvc.ops import readiness
from confsvc.ops.access_log import REQUEST_ID_HEADER, access_log_middleware
from confsvc.ops.metrics import Metrics, ari_endpoint
from confsvc.ops.metrics_route import MetricsRoute


class Store:
    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour

    async def get_conference(self, id: str) -> None:
        if self.behaviour == "hang":
            await asyncio.sleep(60)
        if self.behaviour == "fail":
            raise OSError("disk gone")


@pytest.mark.parametrize(
    ("ari", "store", "reasons"),
    [
        (True, "ok", []),
        (False, "ok", ["ari_disconnected"]),
        (True, "fail", ["store_unreachable"]),
        (False, "hang", ["ari_disconnected", "store_unreachable"]),
    ],
)
async def test_readiness_reasons(
    monkeypatch: pytest.MonkeyPatch, ari: bool, store: str, reasons: list[str]
) -> None:
    monkeypatch.setattr(readiness, "STORE_TIMEOUT", 0.05)
    check = readiness.ReadinessCheck(Store(store), lambda: ari)  # type: ignore[arg-type]
    result = await check.check()
    assert result.reasons == reasons
    assert result.status == ("not_ready" if reasons else "ready")
    assert bool(result.message) == bool(reasons)


@pytest.fixture
async def client() -> AsyncIterator[tuple[TestClient[Any, Any], list[tuple[Any, ...]]]]:
    seen: list[tuple[Any, ...]] = []

    async def item(request: web.Request) -> web.Response:
        if request.match_info["id"] == "missing":
            raise ApiError(404, "conference_not_found", "no such conference")
        return web.json_response(structlog.contextvars.get_contextvars())

    app = web.Application(
        middlewares=[
            access_log_middleware(lambda *a: seen.append(a)),
            error_middleware,
            auth_middleware({"tok": "tenant-a"}, []),
        ]
    )
    app.router.add_get("/v1/conferences/{id}", item, name="getConference")
    async with TestClient(TestServer(app)) as c:
        yield c, seen


async def test_access_log_binds_ids_and_reports_the_final_status(
    client: tuple[TestClient[Any, Any], list[tuple[Any, ...]]],
) -> None:
    http, seen = client
    r = await http.get("/v1/conferences/c-1", headers={"Authorization": "Bearer tok"})
    bound = await r.json()
    assert bound["conference_id"] == "c-1" and bound["request_id"] == r.headers[REQUEST_ID_HEADER]
    r = await http.get("/v1/conferences/missing", headers={"Authorization": "Bearer tok"})
    assert r.status == 404
    r = await http.get("/v1/conferences/c-1", headers={REQUEST_ID_HEADER: "from-proxy-1"})
    assert r.status == 401 and r.headers[REQUEST_ID_HEADER] == "from-proxy-1"
    r = await http.get("/nowhere")
    assert r.status == 404
    assert [(op, status) for op, _, status, _ in seen] == [
        ("getConference", 200),
        ("getConference", 404),
        ("getConference", 401),
        ("", 404),
    ]
    assert structlog.contextvars.get_contextvars() == {}  # unbound after each request


def test_ari_endpoints_are_templates() -> None:
    assert ari_endpoint("/channels/abc-1/play") == "/channels/{id}/play"
    assert ari_endpoint("/channels") == "/channels"
    assert ari_endpoint("/channels/externalMedia") == "/channels/externalMedia"
    assert ari_endpoint("/recordings/live/rec-9/stop") == "/recordings/live/{id}/stop"
    assert ari_endpoint("/bridges/b/addChannel") == "/bridges/{id}/addChannel"


async def test_metrics_need_the_operator_token() -> None:
    metrics = Metrics()
    metrics.ari_request("GET", "/channels/x", 404, 0.01)
    for token, status in (("", 404), ("op", 200)):
        app = web.Application(middlewares=[error_middleware])
        for route in MetricsRoute(metrics, token).routes():
            app.router.add_route(route.method, route.path, route.handler)
        async with TestClient(TestServer(app)) as http:
            r = await http.get("/metrics", headers={"Authorization": "Bearer op"})
            assert r.status == status
            if token:
                text = await r.text()
                assert 'endpoint="/channels/{id}"' in text and 'status="404"' in text
                r = await http.get("/metrics", headers={"Authorization": "Bearer other"})
                assert r.status == 401


async def test_lane_work_logs_with_its_lane_not_the_request_that_started_it() -> None:
    lanes = Dispatcher()
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        first = await lanes.run("conf-1", _context)
    second = await lanes.run("conf-1", _context)
    assert first == second == {"lane": "conf-1"}


async def _context() -> dict[str, Any]:
    return structlog.contextvars.get_contextvars()
