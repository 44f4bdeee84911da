"""The transcribes part of `SqliteStore` (issue 13): transcriptions and their segments.

Same plumbing and text formats as sqlite_recordings.py. A transcribe's state changes are
not journalled as resource events (its conference's transcribe_id change is, as
conference_updated); each segment is announced by the engine as `transcript_created`."""

from __future__ import annotations

import sqlite3
from typing import Any

from confsvc.domain.ids import from_iso, to_iso
from confsvc.domain.transcribe import Transcribe, TranscribeStatus, Transcript
from confsvc.store.base import DEFAULT_PAGE_SIZE
from confsvc.store.sqlite_ops import SqliteOps

# Migration 9 (issue 13), with the conference columns in sqlite_schema.py.
TRANSCRIBES_SCHEMA: list[str] = [
    """CREATE TABLE transcribes (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        conference_id TEXT NOT NULL,
        status TEXT NOT NULL,
        language TEXT NOT NULL,
        tm_create TEXT NOT NULL,
        tm_update TEXT,
        tm_end TEXT
    )""",
    """CREATE INDEX ix_transcribes_customer_page
        ON transcribes (customer_id, tm_create DESC, id DESC)""",
    """CREATE INDEX ix_transcribes_active
        ON transcribes (status) WHERE status = 'progressing'""",
    """CREATE TABLE transcripts (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        transcribe_id TEXT NOT NULL,
        conference_id TEXT NOT NULL,
        conferencecall_id TEXT NOT NULL,
        direction TEXT NOT NULL,
        caller_number TEXT NOT NULL,
        caller_name TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        text TEXT NOT NULL,
        tm_create TEXT NOT NULL
    )""",
    """CREATE INDEX ix_transcripts_transcribe_page
        ON transcripts (transcribe_id, tm_create DESC, id DESC)""",
]

_TX_COLS = "id, customer_id, conference_id, status, language, tm_create, tm_update, tm_end"
_SEG_COLS = (
    "id, customer_id, transcribe_id, conference_id, conferencecall_id, direction, "
    "caller_number, caller_name, start_ms, end_ms, text, tm_create"
)
_TIME_COLS = frozenset({"tm_create", "tm_update", "tm_end"})


def _names(cols: str) -> list[str]:
    return [c.strip() for c in cols.split(",")]


def _insert(table: str, cols: str, upsert: bool) -> str:
    names = _names(cols)
    sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' for _ in names)})"
    if upsert:
        sql += " ON CONFLICT(id) DO UPDATE SET " + ", ".join(
            f"{c} = excluded.{c}" for c in names if c != "id"
        )
    return sql


_UPSERT_TX = _insert("transcribes", _TX_COLS, upsert=True)
_INSERT_SEG = _insert("transcripts", _SEG_COLS, upsert=False)


def _params(model: Transcribe | Transcript, cols: str) -> list[Any]:
    out: list[Any] = []
    for col in _names(cols):
        value = getattr(model, col)
        if col in _TIME_COLS:
            value = to_iso(value)
        elif col == "status":
            value = value.value
        out.append(value)
    return out


def _fields(r: sqlite3.Row) -> dict[str, Any]:
    return {k: (from_iso(r[k]) if k in _TIME_COLS else r[k]) for k in r.keys()}


class SqliteTranscribes(SqliteOps):
    """Transcribe and transcript methods of SqliteStore."""

    async def save_transcribe(self, tx: Transcribe) -> None:
        await self._write(_UPSERT_TX, _params(tx, _TX_COLS))

    async def get_transcribe(self, id: str, customer_id: str | None = None) -> Transcribe | None:
        row = await self._get_one("transcribes", _TX_COLS, id, customer_id)
        return Transcribe.model_validate(_fields(row)) if row else None

    async def list_transcribes(
        self,
        customer_id: str,
        *,
        conference_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Transcribe], str | None]:
        rows, token = await self._list_page(
            "transcribes", _TX_COLS, customer_id, {"conference_id": conference_id},
            page_size, page_token,
        )  # fmt: skip
        return [Transcribe.model_validate(_fields(r)) for r in rows], token

    async def list_active_transcribes(self) -> list[Transcribe]:
        rows = await self._fetch(
            f"SELECT {_TX_COLS} FROM transcribes WHERE status = ? ORDER BY tm_create, id",
            (TranscribeStatus.PROGRESSING.value,),
        )
        return [Transcribe.model_validate(_fields(r)) for r in rows]

    async def delete_transcribe(self, id: str) -> None:
        """The transcribe and its segments, in one transaction."""
        async with self.transaction():
            await self._write("DELETE FROM transcripts WHERE transcribe_id = ?", (id,))
            await self._write("DELETE FROM transcribes WHERE id = ?", (id,))

    async def add_transcript(self, seg: Transcript) -> None:
        await self._write(_INSERT_SEG, _params(seg, _SEG_COLS))

    async def list_transcripts(
        self,
        customer_id: str,
        transcribe_id: str,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Transcript], str | None]:
        rows, token = await self._list_page(
            "transcripts", _SEG_COLS, customer_id, {"transcribe_id": transcribe_id},
            page_size, page_token,
        )  # fmt: skip
        return [Transcript.model_validate(_fields(r)) for r in rows], token
