"""The bounded queue between the calls and the backend.

Utterances wait here for a decoder (as many consumers as the backend runs at once). When
the queue is full the *oldest* waiting utterance is dropped, its owner told (a log line
and an event): a slow model loses old speech rather than stalling calls or memory. The
event loop never decodes: consumers only await the backend."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from confsvc.transcribe.backends import Backend, BackendError
from confsvc.transcribe.vad import Utterance

log = structlog.get_logger(__name__)


@dataclass
class Job:
    utterance: Utterance
    language: str
    done: Callable[[Utterance, str], Awaitable[None]]  # the text is ready
    dropped: Callable[[Utterance], Awaitable[None]]  # it never will be (queue full)


class Transcriber:
    def __init__(self, backend: Backend, *, consumers: int, size: int) -> None:
        self.backend = backend
        self.size = size
        self._consumers = consumers
        self._jobs: deque[Job] = deque()
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._side: set[asyncio.Task[None]] = set()
        self.decoded = 0
        self.dropped = 0

    def submit(self, job: Job) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.get_running_loop().create_task(self._consume())
                for _ in range(self._consumers)
            ]
        if len(self._jobs) >= self.size:
            oldest = self._jobs.popleft()
            self.dropped += 1
            log.warning("transcription queue full: oldest utterance dropped", size=self.size)
            self._spawn(oldest.dropped(oldest.utterance))
        self._jobs.append(job)
        self._ready.set()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    async def _consume(self) -> None:
        while True:
            while not self._jobs:
                self._ready.clear()
                await self._ready.wait()
            job = self._jobs.popleft()
            try:
                text = await self.backend.transcribe(job.utterance.pcm, job.language)
            except BackendError as exc:
                log.warning("utterance not transcribed", error=str(exc))
                continue
            except Exception as exc:  # a consumer must outlive any one utterance
                log.error("utterance not transcribed", error=f"{type(exc).__name__}: {exc}")
                continue
            self.decoded += 1
            if text:
                try:
                    await job.done(job.utterance, text)
                except Exception:
                    log.exception("transcript not delivered")

    async def close(self) -> None:
        for task in [*self._tasks, *self._side]:
            task.cancel()
        for task in [*self._tasks, *self._side]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self.backend.close()
