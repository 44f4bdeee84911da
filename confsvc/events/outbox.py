"""The deliverer: sends the outbox's rows (deliveries table) to webhooks, notify_urls and
callback_urls. At least once, in order per (receiver, conference).

Work proportional to what changed: the pending rows are read once, at start; after that
the store hands over each committed transaction's new rows (`deliveries_added`) and the
deleted webhooks, and the queues live in memory (delivery_queues.py): a heap tells the
next due head, no table is read per delivery. Outcomes are written back in batches
(delivery_results.py). The HTTP requests themselves are made by `webhook_workers` worker
processes (sender_process.py), so a backlog does not take the API's CPU; 0 makes them
here, in the controller's event loop.

- A row is marked delivered only after a 2xx answer (a crash in between re-sends it:
  receivers dedupe by X-Confsvc-Event-Id).
- One row per ordering group is in flight at a time, always the oldest pending one: a
  failing row blocks the later rows of its group (and only of its group).
- At most `webhook_tenant_concurrency` requests per tenant and `webhook_concurrency` in
  all are in flight, tenants taking turns: one tenant's backlog or slow receiver does not
  hold up another tenant's deliveries.
- A failure (no connection, timeout, non-2xx) is retried after base * 2**(n-1) seconds
  (n = attempts so far), at most `cap`; once `retry_for` seconds have passed since its
  first attempt the row is given up (`failed`) and the next one of the group proceeds.
- Every request passes the outbound URL policy when it is made (confsvc/outbound: no
  redirects, connect only to checked addresses, bounded answers). A refused URL is not
  retried: its row is `failed` at once (error `url_not_allowed: ...`) and logged.
- Pending rows survive restarts (they are rows), so a controller killed with undelivered
  events delivers them after it comes back.

The clock and the HTTP sender are injectable; `run_once()` is one pass (tests).
Log lines name the event type `event_type`: structlog's first argument is `event`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol

import structlog

from confsvc.config import Settings
from confsvc.events.delivery_queues import Group, Queues
from confsvc.events.delivery_request import backoff, failure, request_headers, request_url
from confsvc.events.delivery_results import AttemptWriter
from confsvc.events.model import DELIVERED, FAILED, PENDING, Delivery
from confsvc.events.sender_process import SenderProcess, SendFailed
from confsvc.events.signing import Secrets
from confsvc.outbound import OutboundClient, OutboundPolicy
from confsvc.plivo_accounts import parse_accounts, tokens_by_customer

__all__ = ["Outbox", "OutboxStore", "Sender", "backoff"]

log = structlog.get_logger(__name__)

IDLE_WAKE = 30.0  # seconds between passes with nothing due (a safety net)

# (method, url, headers, body) -> HTTP status; raises on connection errors / timeouts.
Sender = Callable[[str, str, dict[str, str], bytes], Awaitable[int]]


class OutboxStore(Protocol):
    def pending_deliveries(self) -> AsyncIterator[list[Delivery]]: ...

    async def save_attempts(self, deliveries: Sequence[Delivery], now: Any) -> None: ...

    async def get_webhook_secret(self, customer_id: str) -> str | None: ...

    async def set_webhook_secret(
        self, customer_id: str, secret: str, now: Any, *, replace: bool = True
    ) -> str: ...

    def add_delivery_listener(self, listener: Any) -> None: ...

    def remove_delivery_listener(self, listener: Any) -> None: ...


class Outbox:
    def __init__(
        self,
        store: OutboxStore,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        sender: Sender | None = None,
        outbound: OutboundPolicy | None = None,
        observe: Callable[[Delivery, float], None] | None = None,
    ) -> None:
        """observe: called after each attempt (the delivery as it left it, seconds taken).
        sender: replaces the HTTP client (tests). outbound: a URL policy object for
        requests made here, in this process (tests with a fake resolver); without one the
        requests go to `webhook_workers` worker processes (0: made here too), whose
        policy is built from the settings."""
        self.store = store
        self.observe = observe
        self.base = settings.webhook_backoff_base
        self.cap = settings.webhook_backoff_cap
        self.retry_for = settings.webhook_retry_for
        self.secrets = Secrets(settings, store)
        # The key of Plivo-style callbacks' V3 signature, per tenant.
        self.plivo_tokens = tokens_by_customer(parse_accounts(settings.plivo_accounts))
        self.clock = clock
        self.workers: list[SenderProcess] = []
        self.http: OutboundClient | None = None
        if sender is not None:
            self._sender: Sender = sender
        elif outbound is None and settings.webhook_workers > 0:
            self.workers = [SenderProcess(settings) for _ in range(settings.webhook_workers)]
            self._sender = self._send_by_worker
        else:
            policy = outbound or OutboundPolicy.from_settings(settings)
            self.http = OutboundClient(policy, timeout=settings.webhook_timeout)
            self._sender = self.http.send
        self._turn = itertools.count()
        self.queues = Queues(
            tenant_cap=settings.webhook_tenant_concurrency,
            total_cap=settings.webhook_concurrency,
        )
        self.attempts = AttemptWriter(store)
        self._tasks: set[asyncio.Task[None]] = set()
        self._loaded = False
        # While loading: what the store handed over meanwhile (applied after the load).
        self._early: list[Delivery] | None = None
        self._early_deleted: list[str] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        for worker in self.workers:  # now: the first delivery should not wait for it
            await worker.start()
        await self.load()
        self._task = asyncio.create_task(self._run(), name="outbox")

    async def load(self) -> None:
        """Read the pending rows, once; from then on the store hands over new ones."""
        if self._loaded or self._early is not None:
            return
        self._early = []
        self.store.add_delivery_listener(self)  # first: nothing committed now is missed
        found: set[str] = set()
        try:
            async for batch in self.store.pending_deliveries():  # oldest first
                now = self.clock()
                for d in batch:
                    found.add(d.id)
                    self.queues.add(d, now)
        except BaseException:
            self.store.remove_delivery_listener(self)
            self._early = None
            raise
        early, self._early = self._early, None
        now = self.clock()
        for d in early:  # committed during the read: found by it, or newer than all it found
            if d.id not in found:
                self.queues.add(d, now)
        for webhook_id in self._early_deleted:
            self.queues.drop_webhook(webhook_id)
        self._early_deleted.clear()
        self._loaded = True
        log.info("outbox loaded", pending=self.queues.waiting, groups=len(self.queues.groups))
        self.wake()

    async def close(self) -> None:
        self.store.remove_delivery_listener(self)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        tasks = list(self._tasks)
        for task in tasks:  # unfinished: still pending in the table, sent after restart
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.attempts.close()
        for worker in self.workers:
            await worker.close()
        if self.http is not None:
            await self.http.close()

    def wake(self) -> None:
        self._wake.set()

    # --- what the store hands over (DeliveryListener) -------------------------------------

    def deliveries_added(self, deliveries: Sequence[Delivery]) -> None:
        if self._early is not None:
            self._early.extend(deliveries)
            return
        if not self._loaded:
            return  # not started: load() will read them
        now = self.clock()
        for d in deliveries:
            self.queues.add(d, now)
        self.wake()

    def webhook_deleted(self, webhook_id: str) -> None:
        if self._early is not None:
            self._early_deleted.append(webhook_id)
        if self._loaded:
            self.queues.drop_webhook(webhook_id)

    # --- the loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = self._pass()
            except Exception:  # pragma: no cover - a bug in the queues
                log.exception("outbox pass failed")
                delay = 1.0
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay, 0.0)):  # not wait_for: see api/ws.py
                    await self._wake.wait()

    def _pass(self) -> float:
        """Start what is due and allowed; returns seconds until the next due head."""
        now = self.clock()
        self._start_due(now)
        next_due = self.queues.next_due()
        return IDLE_WAKE if next_due is None else min(IDLE_WAKE, next_due - now)

    def _start_due(self, now: float) -> list[asyncio.Task[None]]:
        self.queues.release_due(now)
        started = []
        while (taken := self.queues.take()) is not None:
            group, d = taken
            task = asyncio.create_task(self._attempt(group, d))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started.append(task)
        return started

    async def run_once(self) -> int:
        """One pass, waiting for the attempts it started and for their outcomes to be
        stored (tests, with a fake clock). Returns how many attempts were made."""
        await self.load()
        started = self._start_due(self.clock())
        await asyncio.gather(*started, return_exceptions=True)
        await self.attempts.flush()
        return len(started)

    # --- one attempt ---------------------------------------------------------------------

    def _send_by_worker(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> Awaitable[int]:
        worker = self.workers[next(self._turn) % len(self.workers)]
        return worker.send(method, url, headers, body)

    async def _attempt(self, group: Group, d: Delivery) -> None:
        at = self.clock()
        status_code: int | None = None
        error: str | None = None
        refused = False
        try:
            secret = await self.secrets.get(d.customer_id)
            url = request_url(d)
            token = self.plivo_tokens.get(d.customer_id)
            headers = request_headers(d, secret, int(at), url, token)
            status_code = await self._sender(d.method, url, headers, d.body.encode())
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except asyncio.CancelledError:
            raise
        except SendFailed as exc:
            error, refused = exc.text, exc.refused
        except Exception as exc:
            error, refused = failure(exc)
        updated = self._outcome(d, at, status_code, error, refused=refused)
        if self.observe is not None:
            self.observe(updated, self.clock() - at)
        self.attempts.add(updated)
        self.queues.done(group, updated, finished=updated.status != PENDING, now=self.clock())
        self.wake()

    def _outcome(
        self,
        d: Delivery,
        at: float,
        status_code: int | None,
        error: str | None,
        *,
        refused: bool = False,
    ) -> Delivery:
        """The delivery after this attempt. refused: the outbound policy refused the URL;
        given up at once (retrying a refusal would only repeat it)."""
        attempts = d.attempts + 1
        first = d.first_attempt_at if d.first_attempt_at is not None else at
        if error is None:
            status, next_at = DELIVERED, at
        else:
            give_up = refused or at - first >= self.retry_for
            status = FAILED if give_up else PENDING
            next_at = at + backoff(attempts, self.base, self.cap)
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
        return replace(
            d,
            status=status,
            attempts=attempts,
            next_at=next_at,
            first_attempt_at=first,
            last_attempt_at=at,
            last_status_code=status_code,
            last_error=error,
        )
