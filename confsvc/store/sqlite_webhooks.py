"""The webhooks part of `SqliteStore` (a mixin): tenant subscriptions, tenant signing
secrets and the durable delivery outbox. Same plumbing (and transactions) as sqlite.py."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import datetime
from typing import Any

from confsvc.domain.errors import ValidationFailed
from confsvc.domain.ids import from_iso, to_iso
from confsvc.events.model import CANCELLED, DELIVERED, FAILED, PENDING, Delivery, Webhook
from confsvc.store.base import DEFAULT_PAGE_SIZE, check_page_size
from confsvc.store.sqlite_ops import SqliteOps

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


def _hook_from_row(r: sqlite3.Row) -> Webhook:
    return Webhook(
        id=r["id"],
        customer_id=r["customer_id"],
        url=r["url"],
        event_types=tuple(json.loads(r["event_types"])),
        tm_create=from_iso(r["tm_create"]),  # type: ignore[arg-type]
    )


def _delivery_from_row(r: sqlite3.Row) -> Delivery:
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


class SqliteWebhooks(SqliteOps):
    """Webhook, secret and delivery methods of SqliteStore."""

    # --- subscriptions -------------------------------------------------------------------

    _hooks: dict[str, list[Webhook]]

    def _hook_cache(self) -> dict[str, list[Webhook]]:
        try:
            return self._hooks
        except AttributeError:
            self._hooks = {}
            return self._hooks

    def _hooks_changed(self, customer_id: str) -> None:
        """Forget the tenant's cached subscriptions now and again once the change commits
        (a concurrent reader may have cached the committed, older list meanwhile)."""
        self._hook_cache().pop(customer_id, None)
        self.after_commit(lambda: self._hook_cache().pop(customer_id, None))

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
        cached = self._hook_cache().get(customer_id)
        if cached is not None:
            return list(cached)
        rows = await self._fetch(
            f"SELECT {_HOOK_COLS} FROM webhooks WHERE customer_id = ? ORDER BY tm_create, id",
            (customer_id,),
        )
        hooks = [_hook_from_row(r) for r in rows]
        self._hook_cache()[customer_id] = hooks
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

    # --- secrets -------------------------------------------------------------------------

    async def get_webhook_secret(self, customer_id: str) -> str | None:
        rows = await self._fetch(
            "SELECT secret FROM webhook_secrets WHERE customer_id = ?", (customer_id,)
        )
        return str(rows[0][0]) if rows else None

    async def set_webhook_secret(
        self, customer_id: str, secret: str, now: datetime, *, replace: bool = True
    ) -> str:
        """Store the tenant's secret; replace=False keeps an existing one. Returns the
        secret in force afterwards."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        async with self.transaction():
            await self._write(
                f"{verb} INTO webhook_secrets (customer_id, secret, tm_create) VALUES (?, ?, ?)",
                (customer_id, secret, to_iso(now)),
            )
            stored = await self.get_webhook_secret(customer_id)
        return stored or secret

    # --- deliveries (the outbox) ---------------------------------------------------------

    async def add_delivery(self, d: Delivery) -> None:
        await self._write(_INSERT_DELIVERY, _delivery_params(d))

    async def pending_heads(self) -> list[Delivery]:
        """The oldest pending delivery of every ordering group (target, conference)."""
        rows = await self._fetch(
            f"SELECT {_DELIVERY_COLS} FROM deliveries WHERE seq IN ("
            "SELECT MIN(seq) FROM deliveries WHERE status = ? GROUP BY target, order_key"
            ") ORDER BY seq",
            (PENDING,),
        )
        return [_delivery_from_row(r) for r in rows]

    async def get_delivery(self, id: str) -> Delivery | None:
        rows = await self._fetch(f"SELECT {_DELIVERY_COLS} FROM deliveries WHERE id = ?", (id,))
        return _delivery_from_row(rows[0]) if rows else None

    async def delivery_attempted(
        self,
        id: str,
        *,
        status: str,
        at: float,
        next_at: float,
        status_code: int | None,
        error: str | None,
        now: datetime,
    ) -> None:
        """Record one attempt: status delivered, failed (given up) or pending (retry at
        next_at). A delivery cancelled meanwhile stays cancelled."""
        if status not in (PENDING, DELIVERED, FAILED):
            raise ValueError(f"bad delivery status {status!r}")
        await self._write(
            "UPDATE deliveries SET status = ?, attempts = attempts + 1, next_at = ?, "
            "first_attempt_at = COALESCE(first_attempt_at, ?), last_attempt_at = ?, "
            "last_status_code = ?, last_error = ?, tm_update = ? WHERE id = ? AND status = ?",
            (status, next_at, at, at, status_code, error, to_iso(now), id, PENDING),
        )

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
