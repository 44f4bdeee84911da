"""The ARI event websocket: ordered delivery, reconciliation hook, reconnect forever.

Per connection, a reader task drains the websocket into an unbounded in-memory queue
and one consumer awaits `handler` for each event in arrival order. Reading eagerly
matters for ARI: Asterisk drops a websocket whose client reads slower than its
write timeout (ari.conf websocket_write_timeout, 100 ms by default), so a slow
handler must not stall the socket. The queue is also what buffers events that arrive
while `on_connect` (state reconciliation) is still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidURI, WebSocketException

from confsvc.ari.codec import MalformedEvent, decode_event
from confsvc.ari.models import Event

log = structlog.get_logger(__name__)

EventHandler = Callable[[Event], Awaitable[None]]
ConnectHook = Callable[[], Awaitable[None]]

# ARI events carry full channel/bridge snapshots (with channelvars); allow big frames.
_MAX_MESSAGE = 16 * 1024 * 1024


class EventStream:
    """Subscribes to /ari/events for one app and feeds `handler`, one event at a time."""

    def __init__(
        self,
        ws_url: str,
        user: str,
        password: str,
        app: str,
        handler: EventHandler,
        *,
        on_connect: ConnectHook | None = None,
        subscribe_all: bool = False,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        jitter: float = 0.3,
        stable_after: float = 5.0,
        open_timeout: float = 10.0,
    ) -> None:
        """`stable_after`: a connection that lived at least this long (seconds) resets
        the backoff, so a server that accepts and immediately drops us is still
        retried with a growing delay."""
        self.ws_url = ws_url
        self.app = app
        self._user = user
        self._password = password
        self._handler = handler
        self._on_connect = on_connect
        self._subscribe_all = subscribe_all
        self._backoff_initial = backoff_initial
        self._backoff_max = max(backoff_max, backoff_initial)
        self._jitter = jitter
        self._stable_after = stable_after
        self._open_timeout = open_timeout
        self._rng = random.Random()
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    # --- public ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while a websocket is open AND its on_connect hook has completed."""
        return self._connected.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until `connected`; raises TimeoutError after `timeout` seconds."""
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"ari-events-{self.app}")

    async def stop(self) -> None:
        """Cancel the loop; the websocket is closed with a normal close frame."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            if task is not asyncio.current_task():
                # asyncio.wait does not re-raise the task's CancelledError into us.
                await asyncio.wait([task])
        self._connected.clear()

    # --- internals ---------------------------------------------------------------------

    def _url(self) -> str:
        query = urlencode(
            {
                "app": self.app,
                "api_key": f"{self._user}:{self._password}",
                "subscribeAll": "true" if self._subscribe_all else "false",
            }
        )
        sep = "&" if "?" in self.ws_url else "?"
        return f"{self.ws_url}{sep}{query}"

    def next_delay(self, base: float) -> float:
        """`base` with +-jitter (a fraction of base) applied; never negative."""
        spread = base * self._jitter
        return max(0.0, base + self._rng.uniform(-spread, spread))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self._backoff_initial
        attempt = 0
        while True:
            attempt += 1
            started = loop.time()
            established = False
            try:
                established = await self._connect_once()
            except InvalidURI:
                # Not repr(exc): the URI carries api_key=user:password.
                log.error("ari.ws.bad_url", app=self.app, url=self.ws_url)
            except (OSError, TimeoutError, WebSocketException) as exc:
                log.warning("ari.ws.connect_failed", app=self.app, attempt=attempt, error=repr(exc))
            except Exception:
                # Typically on_connect failed: drop the connection and reconcile again
                # on the next one rather than run with possibly stale state.
                log.exception("ari.ws.connection_error", app=self.app, attempt=attempt)
            finally:
                self._connected.clear()
            if established and loop.time() - started >= self._stable_after:
                delay = self._backoff_initial
                attempt = 0
            wait = self.next_delay(delay)
            log.info("ari.ws.reconnect_wait", app=self.app, delay=round(wait, 4), attempt=attempt)
            await asyncio.sleep(wait)
            delay = min(delay * 2, self._backoff_max)

    async def _connect_once(self) -> bool:
        """Run one connection until it closes. Returns True if it got established
        (handshake and on_connect both succeeded)."""
        async with connect(
            self._url(),
            proxy=None,  # ARI is a local service; never route it via *_proxy env vars
            open_timeout=self._open_timeout,
            close_timeout=2,
            max_size=_MAX_MESSAGE,
            compression=None,
        ) as ws:
            queue: asyncio.Queue[Event | None] = asyncio.Queue()
            reader = asyncio.create_task(self._read(ws, queue), name="ari-events-reader")
            try:
                log.info("ari.ws.open", app=self.app)
                if self._on_connect is not None:
                    await self._on_connect()
                self._connected.set()
                log.info("ari.ws.connected", app=self.app, buffered=queue.qsize())
                while (event := await queue.get()) is not None:
                    await self._dispatch(event)
                log.warning(
                    "ari.ws.closed", app=self.app, code=ws.close_code, reason=ws.close_reason
                )
                return True
            except asyncio.CancelledError:
                # stop(): say goodbye with 1000; websockets would send 1011 on an exception.
                await ws.close()
                raise
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    async def _read(self, ws: ClientConnection, queue: asyncio.Queue[Event | None]) -> None:
        try:
            async for message in ws:
                event = self._decode(message)
                if event is not None:
                    queue.put_nowait(event)
        except ConnectionClosed as exc:
            log.debug("ari.ws.reader_closed", app=self.app, error=repr(exc))
        finally:
            queue.put_nowait(None)  # end-of-connection marker for the consumer

    def _decode(self, message: str | bytes) -> Event | None:
        """The typed event, or None (logged) for a message that is not an ARI event."""
        try:
            return decode_event(message)
        except MalformedEvent as exc:
            log.warning("ari.ws.malformed", app=self.app, error=str(exc), sample=str(message[:200]))
            return None

    async def _dispatch(self, event: Event) -> None:
        try:
            await self._handler(event)
        except Exception:
            log.exception("ari.ws.handler_failed", app=self.app, type=event.type)
