"""One ordered lane per conference: work in a lane runs one at a time, in submission
order; different lanes run concurrently. Every ARI event and API command touching a
conference goes through its lane, so state changes never interleave."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")
Work = Callable[[], Awaitable[Any]]


class Dispatcher:
    def __init__(self) -> None:
        self._queues: dict[str, asyncio.Queue[tuple[Work, asyncio.Future[Any]]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    def submit(self, key: str, work: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """Queue work on the key's lane; the future holds its result or exception."""
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
            # A log context of its own: the lane's key (the conference id), not the bound
            # context (request id) of whichever request happened to start the worker.
            context = contextvars.Context()
            context.run(structlog.contextvars.bind_contextvars, lane=key)
            self._workers[key] = asyncio.create_task(self._work(key, queue), context=context)
        queue.put_nowait((work, fut))
        return fut

    def fire(self, key: str, work: Work, what: str) -> None:
        """Submit without waiting (ARI events): failures are logged, not lost silently."""

        def done(f: asyncio.Future[Any]) -> None:
            if not f.cancelled() and f.exception() is not None:
                log.error("lane work failed", lane=key, what=what, exc_info=f.exception())

        self.submit(key, work).add_done_callback(done)

    async def run(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        return await self.submit(key, work)

    async def _work(self, key: str, queue: asyncio.Queue[tuple[Work, asyncio.Future[Any]]]) -> None:
        while True:
            try:
                work, fut = queue.get_nowait()
            except asyncio.QueueEmpty:
                # No await between the empty check and removal: a submit cannot slip in.
                del self._queues[key]
                del self._workers[key]
                return
            try:
                result = await work()
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # close(): the lane itself is being stopped
                # The work was cancelled from inside (it awaited a cancelled future): only
                # its submitter learns; the lane must go on with the rest of its queue.
                fut.cancel()
            except Exception as exc:
                if not fut.done():
                    fut.set_exception(exc)
            else:
                if not fut.done():
                    fut.set_result(result)

    async def drain(self) -> None:
        """Wait until every lane is empty (tests, shutdown)."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*list(self._workers.values()), return_exceptions=True)
        self._workers.clear()
        self._queues.clear()
