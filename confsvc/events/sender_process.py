"""The deliverer's HTTP requests, made by a worker process (`webhook_workers`).

Why: one request costs about half a millisecond of CPU (aiohttp, the outbound policy's
checks, the socket calls). Drained in the controller's own event loop, a backlog at
1,000 deliveries/s would take most of a core and every tenant's API requests would wait
behind it. In a worker the requests use another core; the controller only hands over
(method, url, headers, body) and reads back the status.

The worker applies the same outbound URL policy, built from the same settings, when each
request is made (confsvc/outbound). Wire: newline-delimited JSON on its stdin/stdout;
the first line carries the settings the policy is built from, then requests
`[n, method, url, headers, body]` and answers `[n, status]` or `[n, null, error, refused]`.
The worker exits when its stdin closes: the controller stopped, or died (kill -9 leaves
no orphan sending). A worker that dies fails its requests in flight (they are retried as
any failed delivery) and the next request starts a new one.

    python -m confsvc.events.sender_process     (started by SenderProcess, not by hand)"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import sys
from typing import Any

import msgspec
import structlog

from confsvc.config import Settings
from confsvc.events.delivery_request import failure
from confsvc.logging import configure
from confsvc.outbound import OutboundClient, OutboundPolicy

log = structlog.get_logger(__name__)

# What the worker's outbound policy, client and log are built from.
WORKER_SETTINGS = (
    "asterisk_host",
    "ari_port",
    "http_host",
    "http_port",
    "outbound_allow",
    "webhook_timeout",
    "log_level",
    "log_format",
)
GRACE = 5.0  # seconds beyond webhook_timeout before a request the worker lost fails
LINE_MAX = 64 * 1024 * 1024  # one request line (bodies are the events' JSON)

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class SendFailed(Exception):
    """The worker's request failed: `text` as the delivery log shows it; `refused` when
    the outbound URL policy refused the URL."""

    def __init__(self, text: str, refused: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.refused = refused


class SenderProcess:
    """A `Sender` (outbox.py) backed by one worker process, started on first use."""

    def __init__(self, settings: Settings) -> None:
        self.config = {name: getattr(settings, name) for name in WORKER_SETTINGS}
        self.timeout = settings.webhook_timeout + GRACE
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        # Requests sent and not answered yet: the worker that has each, and its answer.
        self._waiting: dict[int, tuple[asyncio.subprocess.Process, asyncio.Future[int]]] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._closing = False
        self._lines: list[bytes] = []  # requests of this loop iteration: one write

    async def start(self) -> asyncio.subprocess.Process:
        async with self._lock:
            proc = self._proc
            if proc is not None and proc.returncode is None:
                return proc
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                __name__,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=LINE_MAX,
            )
            assert proc.stdin is not None
            proc.stdin.write(_encode(self.config) + b"\n")
            self._proc = proc
            self._reader = asyncio.create_task(self._read(proc), name="sender-process")
            log.info("delivery sender process started", pid=proc.pid)
            return proc

    async def send(self, method: str, url: str, headers: dict[str, str], body: bytes) -> int:
        proc = self._proc
        if proc is None or proc.returncode is not None or self._reader is None:
            proc = await self.start()
        n = next(self._ids)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting[n] = (proc, future)
        try:
            if not self._lines:
                asyncio.get_running_loop().call_soon(self._write, proc)
            self._lines.append(_encode([n, method, url, headers, body.decode()]))
            async with asyncio.timeout(self.timeout):
                return await future
        except TimeoutError:
            raise SendFailed("TimeoutError: no answer from the sender process") from None
        finally:
            self._waiting.pop(n, None)

    def _write(self, proc: asyncio.subprocess.Process) -> None:
        lines, self._lines = self._lines, []
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.write(b"\n".join(lines) + b"\n")

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while line := await proc.stdout.readline():
                n, status, *error = _decode(line)
                _, future = self._waiting.get(n, (proc, None))
                if future is None or future.done():
                    continue  # timed out meanwhile
                if status is not None:
                    future.set_result(status)
                else:
                    future.set_exception(SendFailed(error[0], bool(error[1])))
        except (ValueError, msgspec.DecodeError, ConnectionError):
            log.exception("delivery sender process: bad answer")
        finally:
            self._gone(proc)

    def _gone(self, proc: asyncio.subprocess.Process) -> None:
        """The worker's answers ended: whatever it still had fails (and is retried)."""
        if self._proc is proc:
            self._proc = None
            self._reader = None
        for owner, future in list(self._waiting.values()):
            if owner is proc and not future.done():
                future.set_exception(SendFailed("SenderGone: the sender process exited"))
        if proc.stdin is not None:
            proc.stdin.close()  # a worker still alive ends with its input
        if not self._closing:
            log.warning("delivery sender process exited", pid=proc.pid)

    async def close(self) -> None:
        self._closing = True
        proc, reader = self._proc, self._reader
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # the worker ends when its input does
        try:
            async with asyncio.timeout(5):
                await proc.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if reader is not None:
            await asyncio.gather(reader, return_exceptions=True)


# --- the worker ---------------------------------------------------------------------------


async def _answer(client: OutboundClient, out: asyncio.StreamWriter, request: list[Any]) -> None:
    n, method, url, headers, body = request
    answer: list[Any]
    try:
        answer = [n, await client.send(method, url, headers, body.encode())]
    except Exception as exc:
        text, refused = failure(exc)
        answer = [n, None, text, refused]
    if not out.is_closing():  # the controller is gone: nobody to tell
        out.write(_encode(answer) + b"\n")


async def serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_MAX)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, sys.stdout
    )
    out = asyncio.StreamWriter(transport, protocol, None, loop)
    first = await reader.readline()
    if not first:
        return  # the controller went away before it said anything
    settings = Settings(**_decode(first))
    configure(settings.log_level, settings.log_format)  # to stderr: stdout is the wire
    policy = OutboundPolicy.from_settings(settings)
    client = OutboundClient(policy, timeout=settings.webhook_timeout)
    tasks: set[asyncio.Task[None]] = set()
    try:
        while line := await reader.readline():
            task = asyncio.create_task(_answer(client, out, _decode(line)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the controller stops this
    # worker by closing its input, in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(serve())


if __name__ == "__main__":
    main()
