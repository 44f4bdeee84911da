"""ARI ownership (a PostgreSQL session advisory lock) and the standby's forwarding, on the
session's real PostgreSQL and real aiohttp servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from confsvc.api.errors import error_middleware
from confsvc.ha.forward import Forwarder
from confsvc.ha.ownership import Ownership
from tests.support.postgres import Postgres


@pytest.fixture
async def url(postgres: Postgres) -> AsyncIterator[str]:
    async with postgres.database() as u:
        yield u


async def test_one_owner_at_a_time_and_the_standby_takes_over(url: str) -> None:
    a, b = Ownership(url, "http://127.0.0.1:1"), Ownership(url, "http://127.0.0.1:2")
    try:
        assert await a.try_acquire() and a.owner
        assert not await b.try_acquire() and not b.owner
        assert await b.owner_url() == "http://127.0.0.1:1"
        waiting = asyncio.create_task(b.acquire())
        await asyncio.sleep(0.6)
        assert not waiting.done()
        await a.close()  # the owner's session ends (as with a kill -9)
        await asyncio.wait_for(waiting, 3)
        assert b.owner and await b.owner_url() == "http://127.0.0.1:2"
    finally:
        await a.close()
        await b.close()


async def test_a_lost_lock_session_is_noticed(url: str) -> None:
    a = Ownership(url, "http://127.0.0.1:1")
    try:
        assert await a.try_acquire()
        assert a._conn is not None
        a._conn.terminate()  # the database drops the session
        await asyncio.wait_for(a.lost.wait(), 8)
        assert not a.owner
    finally:
        await a.close()


async def make_forwarding_client(
    owner: str | None,
    is_owner: Callable[[], bool] = lambda: False,
    is_ready: Callable[[], bool] = lambda: False,
) -> TestClient:
    async def owner_url() -> str | None:
        return owner

    async def local(_: web.Request) -> web.Response:
        return web.json_response({"served": "here"})

    fwd = Forwarder(is_owner, is_ready, owner_url)
    app = web.Application(middlewares=[error_middleware, fwd.middleware])
    app.router.add_route("*", "/{tail:.*}", local)
    app.on_cleanup.append(lambda _: fwd.close())
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_standby_forwards_and_answers_as_the_owner() -> None:
    async def owner_handler(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            {"path": request.path_qs, "auth": request.headers["Authorization"], **body},
            status=409,
        )

    owner_app = web.Application()
    owner_app.router.add_post("/v1/conferences", owner_handler)
    owner = TestServer(owner_app)
    await owner.start_server()
    client = await make_forwarding_client(str(owner.make_url("")))
    try:
        r = await client.post(
            "/v1/conferences?x=1", json={"room": "r"}, headers={"Authorization": "Bearer t"}
        )
        assert r.status == 409
        assert await r.json() == {"path": "/v1/conferences?x=1", "auth": "Bearer t", "room": "r"}
        health = await client.get("/health")  # served by the standby itself
        assert (await health.json()) == {"served": "here"}
    finally:
        await client.close()
        await owner.close()


async def test_no_owner_is_503_asterisk_unavailable() -> None:
    client = await make_forwarding_client(None)
    try:
        r = await client.delete("/v1/conferencecalls/x")
        assert r.status == 503 and (await r.json())["error"] == "asterisk_unavailable"
    finally:
        await client.close()


async def test_a_new_owner_answers_503_until_it_has_reconciled() -> None:
    ready: list[bool] = []
    client = await make_forwarding_client(None, lambda: True, lambda: bool(ready))
    try:
        r = await client.get("/v1/conferences")
        assert r.status == 503 and (await r.json())["error"] == "asterisk_unavailable"
        assert (await client.get("/health")).status == 200
        ready.append(True)
        assert (await (await client.get("/v1/conferences")).json()) == {"served": "here"}
    finally:
        await client.close()
