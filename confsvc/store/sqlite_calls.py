"""The dial-out part of `SqliteStore` (a mixin): the calls table (migration 5), one row per
destination of a dial-out request (confsvc/domain/dialout.py). Same plumbing, text
formats and transactions as sqlite.py; not journaled (the engine stores a call's
`call_ended` event itself, in the transaction that ends it)."""

from __future__ import annotations

from typing import Any

import msgspec

from confsvc.domain.dialout import CallStatus, DialoutCall
from confsvc.domain.ids import from_iso, to_iso
from confsvc.store.base import DEFAULT_PAGE_SIZE
from confsvc.store.sqlite_ops import Row, SqliteOps

# Migration 13: per-member options given when dialling out (issue 19).
CALLS_MEMBER_OPTIONS = [
    "ALTER TABLE calls ADD COLUMN member_options TEXT NOT NULL DEFAULT '{}'",
]

# Migration 5.
CALLS_SCHEMA: list[str] = [
    """CREATE TABLE calls (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        customer_id TEXT NOT NULL,
        conference_id TEXT NOT NULL,
        room TEXT NOT NULL,
        room_created INTEGER NOT NULL,
        dest TEXT NOT NULL,
        caller_id TEXT NOT NULL,
        tag TEXT,
        notify_url TEXT,
        timeout INTEGER NOT NULL,
        status TEXT NOT NULL,
        result TEXT,
        hangup_cause INTEGER,
        hangup_cause_txt TEXT NOT NULL,
        conferencecall_id TEXT,
        tm_create TEXT NOT NULL,
        tm_dial TEXT,
        tm_answer TEXT,
        tm_end TEXT,
        tm_update TEXT
    )""",
    "CREATE INDEX ix_calls_customer_page ON calls (customer_id, tm_create DESC, id DESC)",
    "CREATE INDEX ix_calls_open_customer ON calls (customer_id) WHERE status != 'ended'",
    "CREATE INDEX ix_calls_open_conference ON calls (conference_id) WHERE status != 'ended'",
    "CREATE INDEX ix_calls_conference ON calls (conference_id, tm_create)",
]

_COLS = (
    "id, request_id, position, customer_id, conference_id, room, room_created, dest, "
    "caller_id, tag, notify_url, timeout, status, result, hangup_cause, hangup_cause_txt, "
    "conferencecall_id, tm_create, tm_dial, tm_answer, tm_end, tm_update, member_options"
)
_NAMES = [c.strip() for c in _COLS.split(",")]
_UPSERT = (
    f"INSERT INTO calls ({_COLS}) VALUES ({', '.join('?' for _ in _NAMES)}) "
    "ON CONFLICT(id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _NAMES if c != "id")
)
_TIME_COLS = frozenset({"tm_create", "tm_dial", "tm_answer", "tm_end", "tm_update"})
_ENDED = CallStatus.ENDED.value


def _params(call: DialoutCall) -> list[Any]:
    out: list[Any] = []
    for col in _NAMES:
        value = getattr(call, col)
        if col in _TIME_COLS:
            value = to_iso(value)
        elif col in ("status", "result"):
            value = None if value is None else value.value
        elif col == "room_created":
            value = int(value)
        elif col == "member_options":
            value = msgspec.json.encode(value.to_json()).decode()
        out.append(value)
    return out


def _from_row(r: Row) -> DialoutCall:
    fields = {k: (from_iso(r[k]) if k in _TIME_COLS else r[k]) for k in r.keys()}
    fields["room_created"] = bool(fields["room_created"])
    fields["member_options"] = msgspec.json.decode(fields["member_options"] or "{}")
    return DialoutCall.model_validate(fields)


class SqliteCalls(SqliteOps):
    """Dial-out call methods of SqliteStore."""

    async def save_call(self, call: DialoutCall) -> None:
        await self._write(_UPSERT, _params(call))

    async def get_call(self, id: str, customer_id: str | None = None) -> DialoutCall | None:
        row = await self._get_one("calls", _COLS, id, customer_id)
        return _from_row(row) if row else None

    async def list_calls(
        self,
        customer_id: str,
        *,
        conference_id: str | None = None,
        status: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[DialoutCall], str | None]:
        """Newest first (a request's calls in reverse destination order)."""
        filters = {"conference_id": conference_id, "status": status}
        rows, token = await self._list_page(
            "calls", _COLS, customer_id, filters, page_size, page_token
        )
        return [_from_row(r) for r in rows], token

    async def count_open_calls(self, customer_id: str) -> int:
        """The tenant's calls not ended yet (queued, dialing, ringing or answered)."""
        rows = await self._fetch(
            "SELECT COUNT(*) FROM calls WHERE customer_id = ? AND status != ?",
            (customer_id, _ENDED),
        )
        return int(rows[0][0])

    async def count_unjoined_calls(self, conference_id: str) -> int:
        """Open calls to the conference not yet in it as a conferencecall: the seats they
        will take when answered."""
        rows = await self._fetch(
            "SELECT COUNT(*) FROM calls WHERE conference_id = ? AND status != ? "
            "AND conferencecall_id IS NULL",
            (conference_id, _ENDED),
        )
        return int(rows[0][0])

    async def list_open_calls(self, conference_id: str | None = None) -> list[DialoutCall]:
        """Not ended, every tenant, oldest first (reconcile, a conference going away)."""
        sql = f"SELECT {_COLS} FROM calls WHERE status != ?"
        params: list[Any] = [_ENDED]
        if conference_id is not None:
            sql += " AND conference_id = ?"
            params.append(conference_id)
        rows = await self._fetch(sql + " ORDER BY tm_create, id", params)
        return [_from_row(r) for r in rows]

    async def room_made_by_dialout(self, conference_id: str) -> bool:
        """The conference was created by a dial-out request (POST /v1/calls)."""
        rows = await self._fetch(
            "SELECT 1 FROM calls WHERE conference_id = ? AND room_created = 1 LIMIT 1",
            (conference_id,),
        )
        return bool(rows)
