"""The webhooks part of `SqliteStore` (a mixin): tenant subscriptions, tenant signing
secrets and the durable delivery outbox. Same plumbing (and transactions) as sqlite.py.

The deliverer (events/outbox.py) reads the pending rows once, when it starts; after that
the store hands it what changes, after the commit: the deliveries a transaction added
(`DeliveryListener.deliveries_added`, never on rollback) and a deleted webhook whose
pending rows were cancelled. It writes its attempts back in batches (`save_attempts`)."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from confsvc.domain.errors import ValidationFailed
from confsvc.domain.ids import from_iso, to_iso
from confsvc.events.model import CANCELLED, DELIVERED, FAILED, PENDING, Delivery, Webhook
from confsvc.store.base import DEFAULT_PAGE_SIZE, DeliveryListener, check_page_size
from confsvc.store.listeners import Listeners
from confsvc.store.sqlite_ops import Row, SqliteOps

# Migration 4 (with the events table).
WEBHOOKS_SCHEMA: list[str] = [
    """CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        url TEXT NOT NULL,
        event_types TEXT NOT NULL,
        tm_create TEXT NOT NULL
    )""",
    """CREATE INDEX ix_webhooks_customer_page
        ON webhooks (customer_id, tm_create DESC, id DESC)""",
    """CREATE TABLE webhook_secrets (
        customer_id TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        tm_create TEXT NOT NULL
    )""",
    """CREATE TABLE deliveries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        customer_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        webhook_id TEXT,
        target TEXT NOT NULL,
        order_key TEXT NOT NULL,
        event_seq INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        url TEXT NOT NULL,
        method TEXT NOT NULL,
        content_type TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_at REAL NOT NULL,
        first_attempt_at REAL,
        last_attempt_at REAL,
        last_status_code INTEGER,
        last_error TEXT,
        tm_create TEXT NOT NULL,
        tm_update TEXT
    )""",
    """CREATE INDEX ix_deliveries_pending
        ON deliveries (target, order_key, seq) WHERE status = 'pending'""",
    "CREATE INDEX ix_deliveries_webhook ON deliveries (webhook_id, seq)",
]

_HOOK_COLS = "id, customer_id, url, event_types, tm_create"
_DELIVERY_COLS = (
    "seq, id, customer_id, kind, webhook_id, target, order_key, event_seq, event_id, "
    "event_type, url, method, content_type, body, status, attempts, next_at, "
    "first_attempt_at, last_attempt_at, last_status_code, last_error, tm_create, tm_update"
)
_DELIVERY_INSERT_COLS = [c.strip() for c in _DELIVERY_COLS.split(",")][1:]  # seq is ours
_INSERT_DELIVERY = (
    f"INSERT INTO deliveries ({', '.join(_DELIVERY_INSERT_COLS)}) "
    f"VALUES ({', '.join('?' for _ in _DELIVERY_INSERT_COLS)})"
)
_TIME_COLS = frozenset({"tm_create", "tm_update"})
_ATTEMPT_COLS = (
    "id, status, attempts, next_at, first_attempt_at, last_attempt_at, last_status_code, last_error"
)
_ATTEMPT_SETS = ", ".join(f"{c} = r.{c}" for c in _ATTEMPT_COLS.split(", ")[1:])
_ATTEMPTS_MAX = 500  # rows per UPDATE (8 parameters each, SQLite allows 32766)
PENDING_BATCH = 200  # rows per read at start: each batch is decoded in one go


def _hook_from_row(r: Row) -> Webhook:
    return Webhook(
        id=r["id"],
        customer_id=r["customer_id"],
        url=r["url"],
        event_types=tuple(json.loads(r["event_types"])),
        tm_create=from_iso(r["tm_create"]),  # type: ignore[arg-type]
    )


def _delivery_from_row(r: Row) -> Delivery:
    fields = {k: (from_iso(r[k]) if k in _TIME_COLS else r[k]) for k in r.keys()}
    return Delivery(**fields)


def _delivery_params(d: Delivery) -> list[Any]:
    out: list[Any] = []
    for col in _DELIVERY_INSERT_COLS:
        value = getattr(d, col)
        out.append(to_iso(value) if col in _TIME_COLS else value)
    return out


def encode_seq_token(seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([seq]).encode()).decode().rstrip("=")


def decode_seq_token(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        (seq,) = json.loads(raw)
        if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0:
            return seq
    except (ValueError, TypeError, RecursionError):
        pass
    raise ValidationFailed("page_token", "invalid page token")


def _attempts_sql(n: int) -> str:
    """One UPDATE for n rows: a row cancelled meanwhile (no longer pending) stays so."""
    # Typed placeholders: PostgreSQL reads an untyped VALUES column as text.
    row = (
        "(CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS INTEGER), CAST(? AS REAL), "
        "CAST(? AS REAL), CAST(? AS REAL), CAST(? AS INTEGER), CAST(? AS TEXT))"
    )
    values = ", ".join([row] * n)
    return (
        f"WITH r({_ATTEMPT_COLS}) AS (VALUES {values}) "
        f"UPDATE deliveries SET {_ATTEMPT_SETS}, tm_update = ? FROM r "
        f"WHERE deliveries.id = r.id AND deliveries.status = '{PENDING}'"
    )


def _attempt_params(d: Delivery) -> list[Any]:
    return [
        d.id,
        d.status,
        d.attempts,
        d.next_at,
        d.first_attempt_at,
        d.last_attempt_at,
        d.last_status_code,
        d.last_error,
    ]


class SqliteWebhooks(SqliteOps):
    """Webhook, secret and delivery methods of SqliteStore."""

    _delivery_listeners: Listeners[DeliveryListener]
    _secrets: dict[str, str]

    if TYPE_CHECKING:

        def collect(self, kind: str, item: Any, hand_over: Callable[[list[Any]], None]) -> None: ...

    # --- subscriptions -------------------------------------------------------------------

    _hooks: dict[str, list[Webhook]]

    def _hooks_changed(self, customer_id: str) -> None:
        """Forget the tenant's cached subscriptions now and again once the change commits
        (a concurrent reader may have cached the committed, older list meanwhile)."""
        self._hooks.pop(customer_id, None)
        self.after_commit(lambda: self._hooks.pop(customer_id, None))

    async def create_webhook(self, hook: Webhook) -> None:
        self._hooks_changed(hook.customer_id)
        await self._write(
            f"INSERT INTO webhooks ({_HOOK_COLS}) VALUES (?, ?, ?, ?, ?)",
            (
                hook.id,
                hook.customer_id,
                hook.url,
                json.dumps(list(hook.event_types)),
                to_iso(hook.tm_create),
            ),
        )

    async def get_webhook(self, id: str, customer_id: str | None = None) -> Webhook | None:
        row = await self._get_one("webhooks", _HOOK_COLS, id, customer_id)
        return _hook_from_row(row) if row else None

    async def list_webhooks(
        self,
        customer_id: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Webhook], str | None]:
        rows, token = await self._page(
            "webhooks", _HOOK_COLS, ["customer_id = ?"], [customer_id], page_size, page_token
        )
        return [_hook_from_row(r) for r in rows], token

    async def webhooks_of(self, customer_id: str) -> list[Webhook]:
        """Every subscription of the tenant, oldest first (routing an event). Read once,
        then from memory: every event is routed through this, subscriptions rarely change."""
        cached = self._hooks.get(customer_id)
        if cached is not None:
            return list(cached)
        rows = await self._fetch(
            f"SELECT {_HOOK_COLS} FROM webhooks WHERE customer_id = ? ORDER BY tm_create, id",
            (customer_id,),
        )
        hooks = [_hook_from_row(r) for r in rows]
        self._hooks[customer_id] = hooks
        return list(hooks)

    async def delete_webhook(self, id: str, now: datetime) -> None:
        """The subscription goes; its pending deliveries are cancelled (one transaction)."""
        async with self.transaction():
            rows = await self._fetch("SELECT customer_id FROM webhooks WHERE id = ?", (id,))
            if rows:
                self._hooks_changed(str(rows[0][0]))
            await self._write("DELETE FROM webhooks WHERE id = ?", (id,))
            await self._write(
                "UPDATE deliveries SET status = ?, tm_update = ? "
                "WHERE webhook_id = ? AND status = ?",
                (CANCELLED, to_iso(now), id, PENDING),
            )
            self.after_commit(lambda: self._webhook_deleted(id))

    # --- secrets -------------------------------------------------------------------------

    async def get_webhook_secret(self, customer_id: str) -> str | None:
        """Read once, then from memory (every delivery is signed with it)."""
        cache = self._secrets
        if customer_id in cache:
            return cache[customer_id]
        version = self._secrets_version
        rows = await self._fetch(
            "SELECT secret FROM webhook_secrets WHERE customer_id = ?", (customer_id,)
        )
        if not rows:
            return None
        secret = str(rows[0][0])
        if version == self._secrets_version:  # no change began meanwhile: still true
            cache[customer_id] = secret
        return secret

    async def set_webhook_secret(
        self, customer_id: str, secret: str, now: datetime, *, replace: bool = True
    ) -> str:
        """Store the tenant's secret; replace=False keeps an existing one. Returns the
        secret in force afterwards."""
        on_conflict = (
            "DO UPDATE SET secret = excluded.secret, tm_create = excluded.tm_create"
            if replace
            else "DO NOTHING"
        )  # SQLite and PostgreSQL alike (no INSERT OR REPLACE)
        async with self.transaction():
            self._secret_changed(customer_id)
            self.after_commit(lambda: self._secret_changed(customer_id))
            await self._write(
                "INSERT INTO webhook_secrets (customer_id, secret, tm_create) VALUES (?, ?, ?) "
                f"ON CONFLICT (customer_id) {on_conflict}",
                (customer_id, secret, to_iso(now)),
            )
            rows = await self._fetch(
                "SELECT secret FROM webhook_secrets WHERE customer_id = ?", (customer_id,)
            )
        return str(rows[0][0]) if rows else secret

    _secrets_version: int  # bumped by every secret change (a read under way keeps out)

    def _secret_changed(self, customer_id: str) -> None:
        """Forget the cached secret, and make a read that was under way not cache what it
        read (it may be the old one)."""
        self._secrets_version += 1
        self._secrets.pop(customer_id, None)

    # --- deliveries (the outbox) ---------------------------------------------------------

    def add_delivery_listener(self, listener: DeliveryListener) -> None:
        self._delivery_listeners.add(listener)

    def remove_delivery_listener(self, listener: DeliveryListener) -> None:
        self._delivery_listeners.remove(listener)

    def _deliveries_added(self, deliveries: list[Delivery]) -> None:
        self._delivery_listeners.tell(lambda listener: listener.deliveries_added(deliveries))

    def _webhook_deleted(self, webhook_id: str) -> None:
        self._delivery_listeners.tell(lambda listener: listener.webhook_deleted(webhook_id))

    async def add_deliveries(self, ds: Sequence[Delivery]) -> None:
        """Insert the rows in one statement (in the caller's transaction, if any); the
        listeners get them once that commits. An event fans out to every webhook of its
        tenant: one executemany, not a statement per webhook."""
        if not ds:
            return
        async with self.transaction():
            await self._exec_many_w(_INSERT_DELIVERY, [_delivery_params(d) for d in ds])
            for d in ds:
                self.collect("deliveries", d, self._deliveries_added)

    async def add_delivery(self, d: Delivery) -> None:
        await self.add_deliveries([d])

    async def pending_deliveries(self) -> AsyncIterator[list[Delivery]]:
        """Every pending delivery, oldest first, in batches (the deliverer's start)."""
        after = 0
        while True:
            rows = await self._fetch(
                f"SELECT {_DELIVERY_COLS} FROM deliveries "
                "WHERE status = ? AND seq > ? ORDER BY seq LIMIT ?",
                (PENDING, after, PENDING_BATCH),
            )
            if rows:
                batch = [_delivery_from_row(r) for r in rows]
                after = batch[-1].seq
                yield batch
            if len(rows) < PENDING_BATCH:
                return

    async def get_delivery(self, id: str) -> Delivery | None:
        rows = await self._fetch(f"SELECT {_DELIVERY_COLS} FROM deliveries WHERE id = ?", (id,))
        return _delivery_from_row(rows[0]) if rows else None

    async def save_attempts(self, deliveries: Sequence[Delivery], now: datetime) -> None:
        """Record attempts (one transaction): each row's status (delivered, failed = given
        up, or pending = retry at next_at), attempts, first/last attempt, last status code
        and error, as given; tm_update = now. A delivery cancelled meanwhile stays so."""
        for d in deliveries:
            if d.status not in (PENDING, DELIVERED, FAILED):
                raise ValueError(f"bad delivery status {d.status!r}")
        chunks = [
            deliveries[start : start + _ATTEMPTS_MAX]
            for start in range(0, len(deliveries), _ATTEMPTS_MAX)
        ]
        tm_update = to_iso(now)
        async with contextlib.AsyncExitStack() as stack:
            if len(chunks) > 1:  # one statement is atomic on its own
                await stack.enter_async_context(self.transaction())
            for chunk in chunks:
                params = [p for d in chunk for p in _attempt_params(d)]
                await self._write(_attempts_sql(len(chunk)), [*params, tm_update])

    async def list_deliveries(
        self,
        webhook_id: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Delivery], str | None]:
        """The webhook's delivery log, newest first; keyset on seq."""
        size = check_page_size(page_size)
        sql = f"SELECT {_DELIVERY_COLS} FROM deliveries WHERE webhook_id = ?"
        params: list[Any] = [webhook_id]
        if page_token:
            sql += " AND seq < ?"
            params.append(decode_seq_token(page_token))
        rows = await self._fetch(sql + " ORDER BY seq DESC LIMIT ?", [*params, size + 1])
        items = [_delivery_from_row(r) for r in rows[:size]]
        token = encode_seq_token(items[-1].seq) if len(rows) > size else None
        return items, token

    async def count_deliveries(self, status: str = PENDING) -> int:
        rows = await self._fetch("SELECT COUNT(*) FROM deliveries WHERE status = ?", (status,))
        return int(rows[0][0])
