"""The delivery worker process (events/sender_process.py): real requests to a local
receiver, the outbound policy applied in the worker, a dead worker replaced, and a
worker that ends with its input (the controller stopped or was killed)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import pytest

from confsvc.config import Settings
from confsvc.events.sender_process import SenderProcess, SendFailed
from tests.support.listener import Listener, listening

LOOPBACK = "127.0.0.1/32"


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    async with listening() as lst:
        yield lst


async def test_requests_go_out_through_the_worker(listener: Listener) -> None:
    worker = SenderProcess(Settings(outbound_allow=LOOPBACK))
    try:
        body = b'{"a":1}'
        status = await worker.send(
            "POST", f"{listener.base}/hook", {"Content-Type": "application/json"}, body
        )
        assert status == 200
        statuses = await asyncio.gather(
            *(worker.send("GET", f"{listener.base}/n{i}?x=1", {}, b"") for i in range(20))
        )
        assert statuses == [200] * 20
    finally:
        await worker.close()
    assert sorted(listener.paths()) == sorted(["/hook", *(f"/n{i}" for i in range(20))])


async def test_the_policy_applies_in_the_worker(listener: Listener) -> None:
    worker = SenderProcess(Settings())  # no allow-list: loopback is refused
    allowed = SenderProcess(Settings(outbound_allow="127.0.0.2/32"))
    try:
        with pytest.raises(SendFailed) as refused:
            await worker.send("POST", f"{listener.base}/hook", {}, b"{}")
        assert refused.value.refused and refused.value.text.startswith("url_not_allowed: ")
        with pytest.raises(SendFailed) as failed:  # allowed, but nobody listens there
            await allowed.send("POST", "http://127.0.0.2:9/x", {}, b"")
        assert not failed.value.refused and failed.value.text
    finally:
        await worker.close()
        await allowed.close()
    assert listener.seen == []


async def test_a_dead_worker_fails_what_it_had_and_a_new_one_takes_over(
    listener: Listener,
) -> None:
    worker = SenderProcess(Settings(outbound_allow=LOOPBACK))
    try:
        proc = await worker.start()
        os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
        await asyncio.sleep(0.05)  # the worker's output has ended: noticed
        status = await worker.send("POST", f"{listener.base}/after", {}, b"")
        assert status == 200
        again = await worker.start()
        assert again.pid != proc.pid
    finally:
        await worker.close()


async def test_the_worker_ends_when_its_input_does() -> None:
    worker = SenderProcess(Settings())
    proc = await worker.start()
    assert proc.stdin is not None
    proc.stdin.close()  # what the kernel does when the controller is killed
    async with asyncio.timeout(10):
        code = await proc.wait()
    assert code == 0
    await worker.close()
