"""The recordings part of `SqliteStore` (a mixin, kept apart so sqlite.py stays readable).

Uses the store's plumbing (_write, _fetch, _page), so recording methods join a
`transaction()` like every other method. Same text formats as sqlite.py."""

from __future__ import annotations

from typing import Any

from confsvc.domain.ids import from_iso, to_iso
from confsvc.domain.recording import Recording, RecordingStatus
from confsvc.store.base import DEFAULT_PAGE_SIZE
from confsvc.store.sqlite_ops import Row, SqliteOps

# Migration 2 (with the conference columns in sqlite.py): the recordings table.
RECORDINGS_SCHEMA: list[str] = [
    """CREATE TABLE recordings (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        conference_id TEXT NOT NULL,
        status TEXT NOT NULL,
        format TEXT NOT NULL,
        max_duration INTEGER NOT NULL,
        beep INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER,
        size_bytes INTEGER NOT NULL,
        tm_create TEXT NOT NULL,
        tm_update TEXT
    )""",
    """CREATE INDEX ix_recordings_customer_page
        ON recordings (customer_id, tm_create DESC, id DESC)""",
    """CREATE INDEX ix_recordings_conference
        ON recordings (conference_id, tm_create)""",
    """CREATE INDEX ix_recordings_active
        ON recordings (status) WHERE status = 'recording'""",
]

# Migration 6 (issue 11): why a failed recording failed (NULL otherwise).
RECORDINGS_REASON_SCHEMA: list[str] = ["ALTER TABLE recordings ADD COLUMN reason TEXT"]
# Migration 9 (issue 13): the recording's text (Plivo transcriptionType auto).
RECORDINGS_TRANSCRIPT_SCHEMA: list[str] = ["ALTER TABLE recordings ADD COLUMN transcript TEXT"]

_REC_COLS = (
    "id, customer_id, conference_id, status, format, max_duration, beep, duration_ms, "
    "start_ms, end_ms, size_bytes, reason, transcript, tm_create, tm_update"
)
_NAMES = [c.strip() for c in _REC_COLS.split(",")]
_UPSERT_REC = (
    f"INSERT INTO recordings ({_REC_COLS}) VALUES ({', '.join('?' for _ in _NAMES)}) "
    "ON CONFLICT(id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _NAMES if c != "id")
)
_TIME_COLS = frozenset({"tm_create", "tm_update"})


def _rec_params(rec: Recording) -> list[Any]:
    out: list[Any] = []
    for col in _NAMES:
        value = getattr(rec, col)
        if col in _TIME_COLS:
            value = to_iso(value)
        elif col in ("status", "format"):
            value = value.value
        elif col == "beep":
            value = int(value)
        out.append(value)
    return out


def _rec_from_row(r: Row) -> Recording:
    fields = {k: (from_iso(r[k]) if k in _TIME_COLS else r[k]) for k in r.keys()}
    fields["beep"] = bool(fields["beep"])
    return Recording.model_validate(fields)


class SqliteRecordings(SqliteOps):
    """Recording methods of SqliteStore."""

    async def save_recording(self, rec: Recording) -> None:
        async with self._changing(self.get_recording, rec):  # events: see SqliteStore
            await self._write(_UPSERT_REC, _rec_params(rec))

    async def get_recording(self, id: str, customer_id: str | None = None) -> Recording | None:
        row = await self._get_one("recordings", _REC_COLS, id, customer_id)
        return _rec_from_row(row) if row else None

    async def list_recordings(
        self,
        customer_id: str,
        *,
        conference_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Recording], str | None]:
        rows, token = await self._list_page(
            "recordings", _REC_COLS, customer_id, {"conference_id": conference_id},
            page_size, page_token,
        )  # fmt: skip
        return [_rec_from_row(r) for r in rows], token

    async def delete_recording(self, id: str) -> None:
        await self._write("DELETE FROM recordings WHERE id = ?", (id,))

    async def list_active_recordings(self) -> list[Recording]:
        rows = await self._fetch(
            f"SELECT {_REC_COLS} FROM recordings WHERE status = ? ORDER BY tm_create, id",
            (RecordingStatus.RECORDING.value,),
        )
        return [_rec_from_row(r) for r in rows]
