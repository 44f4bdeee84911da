"""ARI REST over HTTP (aiohttp, kept alive) against ARI REST over the event WebSocket
(`RESTRequest` messages, Asterisk 22): CPU per request on both sides.

    .venv/bin/python -m bench.ari_transport [--port-base 50000] [--requests 2000]

Starts its own Asterisk (`bench-sut-<base>`, stopped by pid), makes --requests
create+delete pairs of a mixing bridge one at a time and 20 at a time on each transport,
twice, and prints requests/s and the CPU (user + system) per request of this process and
of Asterisk. It answers whether confsvc's two ARI requests per join would cost less over
the WebSocket (README, Benchmark).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import msgspec
from websockets.asyncio.client import ClientConnection, connect

from bench.instance import Instance, sut_instance
from bench.procstat import cpu_seconds

Request = Callable[[str, str], Awaitable[None]]


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


async def http_transport(inst: Instance, session: aiohttp.ClientSession) -> Request:
    async def request(method: str, uri: str) -> None:
        async with session.request(method, f"{inst.ari_url}/{uri}") as r:
            await r.read()
            if r.status >= 300:
                raise RuntimeError(f"{method} {uri}: {r.status}")

    return request


def ws_transport(ws: ClientConnection, waiting: dict[str, asyncio.Future[Any]]) -> Request:
    ids = itertools.count()
    encode = msgspec.json.Encoder().encode

    async def request(method: str, uri: str) -> None:
        rid = str(next(ids))
        answer = waiting[rid] = asyncio.get_running_loop().create_future()
        message = {"type": "RESTRequest", "request_id": rid, "method": method, "uri": uri}
        await ws.send(encode(message).decode())
        status = (await answer)["status_code"]
        if status >= 300:
            raise RuntimeError(f"{method} {uri}: {status}")

    return request


async def read_answers(ws: ClientConnection, waiting: dict[str, asyncio.Future[Any]]) -> None:
    decode = msgspec.json.Decoder().decode
    async for message in ws:
        answer = decode(message)
        if answer.get("type") == "RESTResponse":
            fut = waiting.pop(answer.get("request_id", ""), None)
            if fut is not None:
                fut.set_result(answer)


async def measure(name: str, request: Request, asterisk_pid: int, n: int, at_once: int) -> None:
    async def pair(i: int) -> None:
        await request("POST", f"bridges/{name}-{i}?type=mixing")
        await request("DELETE", f"bridges/{name}-{i}")

    await pair(-1)  # connections up
    a0, m0, t0 = cpu_seconds(asterisk_pid), own_cpu(), time.perf_counter()
    for k in range(0, n, at_once):
        await asyncio.gather(*(pair(i) for i in range(k, min(n, k + at_once))))
    a1, m1, t1 = cpu_seconds(asterisk_pid), own_cpu(), time.perf_counter()
    done = 2 * n
    print(
        f"{name:4} {at_once:2} at a time: {done / (t1 - t0):7.0f} requests/s; CPU ms/request: "
        f"this process {1000 * (m1 - m0) / done:.3f}, Asterisk {1000 * (a1 - a0) / done:.3f}",
        flush=True,
    )


async def run(inst: Instance, n: int) -> None:
    pid = inst.running_pid()
    assert pid is not None
    auth = {"Authorization": aiohttp.encode_basic_auth(inst.s("ARI_USER"), inst.s("ARI_PASSWORD"))}
    port, app = inst.s("ARI_PORT"), inst.s("ARI_APP")
    url = f"ws://127.0.0.1:{port}/ari/events?app={app}&subscribeAll=false"
    waiting: dict[str, asyncio.Future[Any]] = {}
    connector = aiohttp.TCPConnector(limit=64)
    async with (
        aiohttp.ClientSession(connector=connector, headers=auth) as session,
        connect(url, additional_headers=auth) as ws,
    ):
        reader = asyncio.create_task(read_answers(ws, waiting))
        http, over_ws = await http_transport(inst, session), ws_transport(ws, waiting)
        for at_once in (1, 20):
            for _ in range(2):
                await measure("http", http, pid, n, at_once)
                await measure("ws", over_ws, pid, n, at_once)
        reader.cancel()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port-base", type=int, default=50000)
    ap.add_argument("--requests", type=int, default=2000, help="create+delete pairs per run")
    args = ap.parse_args()
    inst = sut_instance(args.port_base)
    inst.start()
    try:
        asyncio.run(run(inst, args.requests))
    finally:
        inst.stop()


if __name__ == "__main__":
    main()
