"""Store recordings on both backends (make_store, tests/conftest.py): round trips, tenant
scoping, paging, delete, active list, and (SQLite) the migration that adds them (and the
conference's record columns) to a v1 database."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from confsvc.domain.conference_create import create as create_conference
from confsvc.domain.errors import ValidationFailed
from confsvc.domain.recording import Recording, RecordingFormat, RecordingStatus, create
from confsvc.store import SCHEMA_VERSION, SqliteStore, Store
from confsvc.store.sql_base import SqlStore
from confsvc.store.sqlite import MIGRATIONS

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "confsvc.sqlite3"


@pytest.fixture
async def store(make_store: Callable[[], SqlStore]) -> AsyncIterator[SqlStore]:
    async with make_store() as s:
        yield s


def rec(customer: str = "cust-1", conference: str = "conf-1", t: float = 0, **kw) -> Recording:
    return create(customer_id=customer, conference_id=conference, now=at(t), **kw)


async def test_schema_is_v2_and_store_protocol(store: SqlStore) -> None:
    assert SCHEMA_VERSION >= 2  # later migrations (3, 4, ...) come on top
    assert await store.schema_version() == SCHEMA_VERSION
    assert isinstance(store, Store)


async def test_round_trip_every_field(store: SqlStore) -> None:
    r = rec(format="mp3", max_duration=120, beep=True)
    await store.save_recording(r)
    assert await store.get_recording(r.id) == r
    done = r.finish(at(5), duration_ms=4990, size_bytes=20001, end_ms=r.start_ms + 5000)
    await store.save_recording(done)  # upsert
    got = await store.get_recording(r.id)
    assert got == done
    assert got is not None and got.beep is True and got.format is RecordingFormat.MP3
    assert got.tm_update == at(5) and got.tm_update.microsecond == 123456


async def test_a_failed_recordings_reason_round_trips(store: SqlStore) -> None:
    r = rec()
    await store.save_recording(r)
    assert (await store.get_recording(r.id)).reason is None  # type: ignore[union-attr]
    failed = r.fail(at(2), "not_stopped")
    await store.save_recording(failed)
    assert await store.get_recording(r.id) == failed


async def test_tenant_scoping(store: SqlStore) -> None:
    r = rec(customer="cust-a")
    await store.save_recording(r)
    assert await store.get_recording(r.id, "cust-a") == r
    assert await store.get_recording(r.id, "cust-b") is None
    assert await store.get_recording("nope") is None
    page, token = await store.list_recordings("cust-b")
    assert (page, token) == ([], None)


async def test_list_newest_first_with_paging_and_filter(store: SqlStore) -> None:
    made = [rec(conference="conf-1" if i % 2 else "conf-2", t=i) for i in range(5)]
    for r in made:
        await store.save_recording(r)
    await store.save_recording(rec(customer="cust-other", t=10))
    page1, token1 = await store.list_recordings("cust-1", page_size=2)
    assert [r.id for r in page1] == [made[4].id, made[3].id]
    assert token1 is not None
    page2, token2 = await store.list_recordings("cust-1", page_size=2, page_token=token1)
    again, _ = await store.list_recordings("cust-1", page_size=2, page_token=token1)
    assert [r.id for r in page2] == [made[2].id, made[1].id]
    assert again == page2  # the same token gives the same page
    assert token2 is not None
    last, end = await store.list_recordings("cust-1", page_size=2, page_token=token2)
    assert [r.id for r in last] == [made[0].id] and end is None
    only, _ = await store.list_recordings("cust-1", conference_id="conf-1")
    assert [r.id for r in only] == [made[3].id, made[1].id]


async def test_list_refuses_bad_paging(store: SqlStore) -> None:
    with pytest.raises(ValidationFailed) as exc:
        await store.list_recordings("cust-1", page_token="not-a-token")
    assert exc.value.field == "page_token"
    with pytest.raises(ValidationFailed):
        await store.list_recordings("cust-1", page_size=0)


async def test_delete(store: SqlStore) -> None:
    r = rec()
    await store.save_recording(r)
    await store.delete_recording(r.id)
    assert await store.get_recording(r.id) is None
    await store.delete_recording(r.id)  # no-op when missing


async def test_list_active_recordings_all_tenants_oldest_first(store: SqlStore) -> None:
    a = rec(customer="cust-a", t=2)
    b = rec(customer="cust-b", t=1)
    done = rec(t=0).finish(at(3), duration_ms=1, size_bytes=1)
    failed = rec(t=0.5).fail(at(3), "no_file")
    for r in (a, b, done, failed):
        await store.save_recording(r)
    active = await store.list_active_recordings()
    assert [r.id for r in active] == [b.id, a.id]
    assert all(r.status is RecordingStatus.RECORDING for r in active)


async def test_recordings_join_transactions(store: SqlStore) -> None:
    r = rec()
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.save_recording(r)
            raise RuntimeError("boom")
    assert await store.get_recording(r.id) is None


async def test_conference_record_fields_round_trip(store: SqlStore) -> None:
    c = create_conference(customer_id="c", now=T0, room="r1", record=True, record_format="mp3")
    await store.create_conference(c)
    got = await store.get_conference(c.id)
    assert got == c and got is not None and got.record is True
    assert got.record_format is RecordingFormat.MP3


async def test_migrates_a_v1_database(db_path: Path) -> None:
    """A database made before recordings: its conferences get record=false, wav."""
    v1 = dict(MIGRATIONS)[1]
    with sqlite3.connect(db_path) as raw:
        raw.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        for sql in v1:
            raw.execute(sql)
        raw.execute("INSERT INTO schema_version VALUES (1, 'x')")
        raw.execute(
            "INSERT INTO conferences VALUES ('c1', 'cust', 'conference', 'progressing', '', '',"
            " 'room1', 0, 20, '{}', '[]', NULL, '[\"r0\"]', '2024-05-01T12:00:00.000000Z',"
            " NULL, NULL)"
        )
    async with SqliteStore(db_path) as s:
        assert await s.schema_version() == SCHEMA_VERSION
        old = await s.get_conference("c1")
        assert old is not None and old.record is False
        assert old.record_format is RecordingFormat.WAV and old.recording_ids == ("r0",)
        r = rec(conference="c1")
        await s.save_recording(r)
        assert await s.get_recording(r.id) == r
