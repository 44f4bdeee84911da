"""Dispatcher: one ordered lane per key, lanes run concurrently, failures reach the
submitter (or the log), empty lanes disappear."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from confsvc.engine.dispatcher import Dispatcher


def _idle(d: Dispatcher) -> bool:
    return not d._queues and not d._workers


async def test_one_lane_runs_in_submission_order_without_overlap() -> None:
    d = Dispatcher()
    active = 0
    most_active = 0
    order: list[int] = []

    def item(i: int) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            nonlocal active, most_active
            active += 1
            most_active = max(most_active, active)
            # Earlier items yield longer: run concurrently, later ones would finish first.
            for _ in range(20 - i):
                await asyncio.sleep(0)
            order.append(i)
            active -= 1
            return i

        return run

    futures = [d.submit("conf-1", item(i)) for i in range(20)]
    assert await asyncio.gather(*futures) == list(range(20))
    assert order == list(range(20))
    assert most_active == 1


async def test_work_queued_from_inside_a_lane_runs_after_the_current_item() -> None:
    d = Dispatcher()
    order: list[str] = []

    async def second() -> None:
        order.append("second")

    async def first() -> None:
        d.fire("k", second, "second")
        await asyncio.sleep(0)
        order.append("first")

    await d.run("k", first)
    await d.drain()
    assert order == ["first", "second"]


async def test_different_lanes_run_concurrently() -> None:
    d = Dispatcher()
    a_started, b_started = asyncio.Event(), asyncio.Event()

    async def a() -> str:
        a_started.set()
        await b_started.wait()  # only returns if b runs while a is in progress
        return "a"

    async def b() -> str:
        b_started.set()
        await a_started.wait()
        return "b"

    done = await asyncio.wait_for(asyncio.gather(d.submit("a", a), d.submit("b", b)), 1.0)
    assert done == ["a", "b"]


async def test_an_exception_goes_to_its_submitter_and_the_lane_goes_on() -> None:
    d = Dispatcher()

    async def boom() -> None:
        raise ValueError("boom")

    async def fine() -> str:
        return "fine"

    failed = d.submit("k", boom)
    after = d.submit("k", fine)
    with pytest.raises(ValueError, match="boom"):
        await failed
    assert await after == "fine"
    with pytest.raises(ValueError, match="boom"):
        await d.run("k", boom)


async def test_fire_logs_a_failure_and_the_lane_keeps_working() -> None:
    d = Dispatcher()
    ran: list[str] = []

    async def boom() -> None:
        raise RuntimeError("lane work broke")

    async def later() -> None:
        ran.append("later")

    with capture_logs() as logs:
        d.fire("conf-9", boom, "stasis end")
        d.fire("conf-9", later, "later")
        await d.drain()
        await asyncio.sleep(0)  # done callbacks run from the loop
    assert ran == ["later"]
    errors = [e for e in logs if e["log_level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["event"] == "lane work failed"
    assert (errors[0]["lane"], errors[0]["what"]) == ("conf-9", "stasis end")
    assert isinstance(errors[0]["exc_info"], RuntimeError)


async def test_fire_logs_nothing_on_success() -> None:
    d = Dispatcher()

    async def ok() -> int:
        return 1

    with capture_logs() as logs:
        d.fire("k", ok, "ok")
        await d.drain()
        await asyncio.sleep(0)
    assert logs == []


async def test_a_lane_is_removed_when_empty_and_comes_back_on_demand() -> None:
    d = Dispatcher()

    async def value(v: Any) -> Any:
        return v

    assert await d.run("k", lambda: value(1)) == 1
    await asyncio.sleep(0)  # the worker sees the empty queue and ends
    assert _idle(d)
    assert await d.run("k", lambda: value(2)) == 2
    await d.drain()
    assert _idle(d)


async def test_a_failing_item_does_not_leave_its_lane_behind() -> None:
    d = Dispatcher()

    async def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        await d.run("k", boom)
    await d.drain()
    assert _idle(d)


async def test_drain_waits_for_every_lane_including_work_queued_meanwhile() -> None:
    d = Dispatcher()
    done: list[str] = []

    async def tail() -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        done.append("b")

    async def head() -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        d.fire("b", tail, "tail")  # a new lane appears while drain is waiting
        done.append("a")

    d.fire("a", head, "head")
    await asyncio.wait_for(d.drain(), 1.0)
    assert done == ["a", "b"]
    assert _idle(d)


async def test_drain_with_nothing_queued_returns_at_once() -> None:
    d = Dispatcher()
    await asyncio.wait_for(d.drain(), 0.5)
    assert _idle(d)


async def test_a_cancelled_item_cancels_only_its_own_future() -> None:
    """Work that ends in CancelledError (e.g. it awaited a future someone cancelled) must not
    kill its lane: the items behind it still run and drain still returns."""
    d = Dispatcher()

    async def awaits_cancelled() -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.cancel()
        await fut

    async def fine() -> str:
        return "fine"

    cancelled = d.submit("k", awaits_cancelled)
    after = d.submit("k", fine)
    assert await asyncio.wait_for(after, 1.0) == "fine"
    assert cancelled.cancelled()
    await asyncio.wait_for(d.drain(), 1.0)
    assert _idle(d)


async def test_close_stops_the_lanes() -> None:
    d = Dispatcher()
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    d.fire("k", forever, "forever")
    await started.wait()
    await asyncio.wait_for(d.close(), 1.0)
    assert _idle(d)
