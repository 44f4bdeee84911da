"""The deliverer: sends the outbox's rows (deliveries table) to webhooks, notify_urls and
callback_urls. At least once, in order per (receiver, conference).

- A row is marked delivered only after a 2xx answer (a crash in between re-sends it:
  receivers dedupe by X-Confsvc-Event-Id).
- One row per ordering group is in flight at a time, always the oldest pending one: a
  failing row blocks the later rows of its group (and only of its group).
- A failure (no connection, timeout, non-2xx) is retried after base * 2**(n-1) seconds
  (n = attempts so far), at most `cap`; once `retry_for` seconds have passed since its
  first attempt the row is given up (`failed`) and the next one of the group proceeds.
- Every request passes the outbound URL policy when it is made (confsvc/outbound: no
  redirects, connect only to checked addresses, bounded answers). A refused URL is not
  retried: its row is `failed` at once (error `url_not_allowed: ...`) and logged.
- The store's commit signal wakes the loop; otherwise it sleeps until the next retry is
  due. Pending rows survive restarts (they are rows), so a controller killed with
  undelivered events delivers them after it comes back.

The clock and the HTTP sender are injectable; `run_once()` is one pass (tests).
Log lines name the event type `event_type`: structlog's first argument is `event`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from yarl import URL

from confsvc.config import Settings
from confsvc.domain import now as utcnow
from confsvc.events.model import DELIVERED, FAILED, PENDING, Delivery
from confsvc.events.signing import Secrets, sign
from confsvc.outbound import OutboundClient, OutboundPolicy, UrlNotAllowed

log = structlog.get_logger(__name__)

USER_AGENT = "confsvc-webhooks/1"
IDLE_WAKE = 30.0  # seconds between passes with nothing due (a safety net)
ERROR_MAX = 500  # characters of an error kept in the delivery log

# (method, url, headers, body) -> HTTP status; raises on connection errors / timeouts.
Sender = Callable[[str, str, dict[str, str], bytes], Awaitable[int]]


class OutboxStore(Protocol):
    async def pending_heads(self) -> list[Delivery]: ...

    async def delivery_attempted(
        self,
        id: str,
        *,
        status: str,
        at: float,
        next_at: float,
        status_code: int | None,
        error: str | None,
        now: Any,
    ) -> None: ...

    async def get_webhook_secret(self, customer_id: str) -> str | None: ...

    async def set_webhook_secret(
        self, customer_id: str, secret: str, now: Any, *, replace: bool = True
    ) -> str: ...

    def add_event_listener(self, fn: Callable[[], None]) -> None: ...

    def remove_event_listener(self, fn: Callable[[], None]) -> None: ...


def backoff(attempts: int, base: float, cap: float) -> float:
    """Delay before the next attempt after `attempts` failed ones (1, 2, ...)."""
    exponent = min(max(attempts - 1, 0), 62)
    return float(min(cap, base * (2**exponent)))


def request_url(d: Delivery) -> str:
    """The URL as sent: the receiver's URL normalized (quoted), then for GET our query
    appended as is (it is what was signed)."""
    base = str(URL(d.url))
    if d.method != "GET" or not d.body:
        return base
    return base + ("&" if "?" in base else "?") + d.body


def signed_payload(d: Delivery, url: str) -> str:
    """What the signature covers: the POST body, or the whole query string of a GET as
    sent (the receiver's own query parameters included)."""
    return url.partition("?")[2] if d.method == "GET" else d.body


def request_headers(d: Delivery, secret: str, timestamp: int, url: str) -> dict[str, str]:
    headers = {
        "User-Agent": USER_AGENT,
        "X-Confsvc-Event": d.event_type,
        "X-Confsvc-Event-Id": d.event_id,
        "X-Confsvc-Delivery": d.id,
        **sign(secret, timestamp, signed_payload(d, url)),
    }
    if d.method != "GET" and d.content_type:
        headers["Content-Type"] = d.content_type
    return headers


class Outbox:
    def __init__(
        self,
        store: OutboxStore,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        sender: Sender | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        """sender: replaces the HTTP client (tests); outbound: the URL policy of the
        HTTP client (default: from settings)."""
        self.store = store
        self.base = settings.webhook_backoff_base
        self.cap = settings.webhook_backoff_cap
        self.retry_for = settings.webhook_retry_for
        self.timeout = settings.webhook_timeout
        self.secrets = Secrets(settings, store)
        self.clock = clock
        policy = outbound or OutboundPolicy.from_settings(settings)
        self.http = OutboundClient(policy, timeout=settings.webhook_timeout)
        self._sender: Sender = sender or self.http.send
        self._limit = asyncio.Semaphore(max(1, settings.webhook_concurrency))
        self._inflight: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self.store.add_event_listener(self.wake)
        self._task = asyncio.create_task(self._run(), name="outbox")

    async def close(self) -> None:
        self.store.remove_event_listener(self.wake)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.http.close()

    def wake(self) -> None:
        self._wake.set()

    # --- the loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = await self._pass()
            except Exception:
                log.exception("outbox pass failed")
                delay = 1.0
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay, 0.0)):  # not wait_for: see api/ws.py
                    await self._wake.wait()

    async def _pass(self) -> float:
        """Start the due heads of idle groups; returns seconds until the next due one."""
        now = self.clock()
        next_due = now + IDLE_WAKE
        for d in await self.store.pending_heads():
            if d.group in self._inflight:
                continue
            if d.next_at <= now:
                task = asyncio.create_task(self._attempt(d))
                self._inflight[d.group] = task
                task.add_done_callback(lambda _t, g=d.group: self._done(g))
            else:
                next_due = min(next_due, d.next_at)
        return next_due - now

    def _done(self, group: tuple[str, str]) -> None:
        self._inflight.pop(group, None)
        self.wake()  # the group's next row, or a new retry time

    async def run_once(self) -> int:
        """One pass, waiting for the attempts it started (tests, with a fake clock).
        Returns how many attempts were made."""
        before = set(self._inflight.values())
        await self._pass()
        started = [t for t in self._inflight.values() if t not in before]
        await asyncio.gather(*started, return_exceptions=True)
        return len(started)

    # --- one attempt ---------------------------------------------------------------------

    async def _attempt(self, d: Delivery) -> None:
        async with self._limit:
            at = self.clock()
            status_code: int | None = None
            error: str | None = None
            refused = False
            try:
                secret = await self.secrets.get(d.customer_id)
                url = request_url(d)
                headers = request_headers(d, secret, int(at), url)
                status_code = await self._sender(d.method, url, headers, d.body.encode())
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}"
            except asyncio.CancelledError:
                raise
            except UrlNotAllowed as exc:
                refused, error = True, f"{exc.code}: {exc.message}"[:ERROR_MAX]
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX] or type(exc).__name__
            await self._record(d, at, status_code, error, refused=refused)

    async def _record(
        self,
        d: Delivery,
        at: float,
        status_code: int | None,
        error: str | None,
        *,
        refused: bool = False,
    ) -> None:
        """refused: the outbound policy refused the URL; given up at once (retrying a
        refusal would only repeat it)."""
        now = utcnow()
        if error is None:
            await self.store.delivery_attempted(
                d.id, status=DELIVERED, at=at, next_at=at,
                status_code=status_code, error=None, now=now,
            )  # fmt: skip
            log.debug("delivered", delivery=d.id, event_type=d.event_type, url=d.url)
            return
        attempts = d.attempts + 1
        first = d.first_attempt_at if d.first_attempt_at is not None else at
        give_up = refused or at - first >= self.retry_for
        next_at = at + backoff(attempts, self.base, self.cap)
        await self.store.delivery_attempted(
            d.id, status=FAILED if give_up else PENDING, at=at, next_at=next_at,
            status_code=status_code, error=error, now=now,
        )  # fmt: skip
        (log.warning if refused else log.info)(
            "delivery refused by the outbound URL policy"
            if refused
            else "delivery given up"
            if give_up
            else "delivery failed: will retry",
            delivery=d.id,
            kind=d.kind,
            event_type=d.event_type,
            url=d.url,
            attempts=attempts,
            error=error,
        )
