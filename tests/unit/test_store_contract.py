"""The store contract on both backends (SQLite and PostgreSQL: the make_store fixture in
tests/conftest.py): round trips, room uniqueness, paging, tenant scoping, transactions,
restart survival. Each test gets its own empty database."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from confsvc.domain.conference import Conference, ConferenceStatus
from confsvc.domain.conference_create import create
from confsvc.domain.conferencecall import Conferencecall, ConferencecallStatus
from confsvc.domain.conferencecall import create as create_call
from confsvc.domain.errors import RoomTaken, ValidationFailed
from confsvc.store import SCHEMA_VERSION, SqliteStore, Store
from confsvc.store import sqlite as sqlite_mod
from confsvc.store.sql_base import SqlStore

StoreMaker = Callable[[], SqlStore]

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dir" / "confsvc.sqlite3"  # parent dirs do not exist yet


@pytest.fixture
async def store(make_store: StoreMaker) -> AsyncIterator[SqlStore]:
    async with make_store() as s:
        yield s


def conf(customer: str = "cust-1", room: str = "room1", t: float = 0, **kw) -> Conference:
    return create(customer_id=customer, now=at(t), room=room, **kw)


def call(c: Conference, t: float = 0, **kw) -> Conferencecall:
    return create_call(
        conference_id=c.id, customer_id=c.customer_id, reference_id=f"chan-{t}", now=at(t), **kw
    )


def terminated(c: Conference, t: float = 5) -> Conference:
    return c.terminate(at(t))[0]


# --- basics -------------------------------------------------------------------------------


async def test_is_a_store_and_creates_schema(store: SqlStore) -> None:
    assert isinstance(store, Store)
    assert await store.schema_version() == SCHEMA_VERSION


async def test_sqlite_file_is_made_in_wal_mode(db_path: Path) -> None:
    async with SqliteStore(db_path):
        assert await asyncio.to_thread(db_path.exists)
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_conference_round_trip_every_field(store: SqlStore) -> None:
    c = conf(
        type="conference", name="Weekly sync", detail="ünïcode ok", timeout=3600,
        max_participants=7, data={"k": [1, {"x": None}], "s": "v"},
    )  # fmt: skip
    c, _ = c.start(at(1))
    c, _ = c.add_call("call-a", at(2))
    c, _ = c.add_call("call-b", at(3))
    c, _ = c.recording_started("rec-1", at(4))
    await store.create_conference(c)
    got = await store.get_conference(c.id)
    assert got == c
    assert got is not None and got.tm_create.tzinfo is not None
    assert got.tm_create.microsecond == 123456

    c2, _ = c.begin_terminate(at(5))
    c2 = c2.model_copy(update={"conferencecall_ids": ()})
    c2, _ = c2.finish_terminate(at(6))
    await store.save_conference(c2)
    got = await store.get_conference(c.id)
    assert got == c2 and got.tm_delete == at(6) and got.status is ConferenceStatus.TERMINATED


async def test_conferencecall_round_trip_every_field(store: SqlStore) -> None:
    c = conf()
    cc = call(c, caller_number="+6511111111", caller_name="Alice O'Neil")
    await store.save_conferencecall(cc)
    assert await store.get_conferencecall(cc.id) == cc
    cc, _ = cc.joined(at(1))
    cc = cc.model_copy(update={"health_failures": 1})
    await store.save_conferencecall(cc)
    assert await store.get_conferencecall(cc.id) == cc
    cc, _ = cc.leaved(at(2))
    await store.save_conferencecall(cc)
    got = await store.get_conferencecall(cc.id)
    assert got == cc and got.status is ConferencecallStatus.LEAVED  # history is kept


async def test_missing_returns_none(store: SqlStore) -> None:
    assert await store.get_conference("nope") is None
    assert await store.get_conferencecall("nope") is None
    assert await store.get_conference_by_room("cust-1", "room1") is None
    assert await store.find_live_conference_by_room("room1") == []


# --- room uniqueness ------------------------------------------------------------------------


async def test_live_duplicate_room_refused(store: SqlStore) -> None:
    first = conf(room="dup")
    await store.create_conference(first)
    with pytest.raises(RoomTaken) as exc:
        await store.create_conference(conf(room="dup", t=1))
    assert exc.value.code == "room_in_use" and exc.value.room == "dup"
    assert await store.get_conference_by_room("cust-1", "dup") == first


async def test_room_reusable_after_terminated(store: SqlStore) -> None:
    first = conf(room="dup")
    await store.create_conference(first)
    await store.save_conference(terminated(first))
    second = conf(room="dup", t=10)
    await store.create_conference(second)
    assert await store.get_conference_by_room("cust-1", "dup") == second
    # both remain queryable
    assert (await store.get_conference(first.id)).status is ConferenceStatus.TERMINATED


async def test_a_live_room_is_refused_to_another_customer(store: SqlStore) -> None:
    """Dial-in names only the room: a live room belongs to one tenant (issue 11)."""
    a, b = conf("cust-a", room="shared"), conf("cust-b", room="shared", t=1)
    await store.create_conference(a)
    with pytest.raises(RoomTaken):
        await store.create_conference(b)
    assert await store.get_conference_by_room("cust-b", "shared") is None
    assert [c.id for c in await store.find_live_conference_by_room("shared")] == [a.id]
    await store.save_conference(terminated(a))
    await store.create_conference(b)  # free again once it ended
    assert await store.get_conference_by_room("cust-b", "shared") == b


async def test_rooms_are_case_sensitive(store: SqlStore) -> None:
    await store.create_conference(conf(room="Room"))
    await store.create_conference(conf(room="room", t=1))


async def test_duplicate_id_is_not_room_taken(store: SqlStore) -> None:
    c = conf()
    await store.create_conference(c)
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        await store.create_conference(c.model_copy(update={"room": "other"}))


async def test_save_cannot_steal_a_live_room(store: SqlStore) -> None:
    a, b = conf(room="ra"), conf(room="rb", t=1)
    await store.create_conference(a)
    await store.create_conference(b)
    with pytest.raises(RoomTaken):
        await store.save_conference(b.model_copy(update={"room": "ra"}))
    assert await store.get_conference(a.id) == a  # not replaced away


# --- listing ------------------------------------------------------------------------------


async def test_paging_three_pages_newest_first(store: SqlStore) -> None:
    made = [conf(room=f"r{i}", t=i) for i in range(7)]
    made.append(conf(room="same_time_a", t=3))  # a tie on tm_create: id breaks it
    for c in made:
        await store.create_conference(c)
    await store.create_conference(conf("someone-else", room="x", t=99))
    expected = sorted(made, key=lambda c: (c.tm_create, c.id), reverse=True)

    seen: list[Conference] = []
    token: str | None = None
    pages = 0
    while True:
        items, token = await store.list_conferences("cust-1", page_size=3, page_token=token)
        pages += 1
        seen += items
        if token is None:
            break
    assert pages == 3
    assert [c.id for c in seen] == [c.id for c in expected]
    # A new conference created meanwhile does not shift a page already handed out.
    first, tok = await store.list_conferences("cust-1", page_size=3)
    await store.create_conference(conf(room="newest", t=50))
    second, _ = await store.list_conferences("cust-1", page_size=3, page_token=tok)
    assert [c.id for c in first + second] == [c.id for c in expected[:6]]


async def test_paging_status_filter(store: SqlStore) -> None:
    for i in range(5):
        c = conf(room=f"r{i}", t=i)
        await store.create_conference(terminated(c) if i % 2 else c)
    live, tok = await store.list_conferences("cust-1", status=ConferenceStatus.STARTING)
    assert [c.room for c in live] == ["r4", "r2", "r0"] and tok is None
    done, _ = await store.list_conferences("cust-1", status="terminated", page_size=1)
    assert [c.room for c in done] == ["r3"]
    with pytest.raises(ValidationFailed):
        await store.list_conferences("cust-1", status="bogus")


@pytest.mark.parametrize("token", ["garbage!!", "bm90IGpzb24", "WzEsMl0", "WyJ4IiwieSJd"])
async def test_bad_page_token(store: SqlStore, token: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        await store.list_conferences("cust-1", page_token=token)
    assert exc.value.field == "page_token"


@pytest.mark.parametrize("size", [0, 101, True, "5"])
async def test_bad_page_size(store: SqlStore, size: object) -> None:
    with pytest.raises(ValidationFailed):
        await store.list_conferences("cust-1", page_size=size)  # type: ignore[arg-type]


async def test_list_live_conferences_all_tenants(store: SqlStore) -> None:
    a, b, c = conf("c1", room="a"), conf("c2", room="b", t=1), conf("c1", room="c", t=2)
    for x in (a, b, terminated(c)):
        await store.create_conference(x)
    assert [x.id for x in await store.list_live_conferences()] == [a.id, b.id]


async def test_conferencecall_listing(store: SqlStore) -> None:
    c1, c2 = conf(room="one"), conf(room="two")
    for x in (c1, c2):
        await store.create_conference(x)
    calls = [call(c1, t=i) for i in range(5)] + [call(c2, t=10)]
    calls[1] = calls[1].leaved(at(20))[0]
    for x in calls:
        await store.save_conferencecall(x)
    await store.save_conferencecall(create_call(
        conference_id="other", customer_id="cust-2", reference_id="z", now=at(30)))  # fmt: skip

    page, tok = await store.list_conferencecalls("cust-1", conference_id=c1.id, page_size=2)
    assert [x.id for x in page] == [calls[4].id, calls[3].id] and tok
    page, tok = await store.list_conferencecalls("cust-1", conference_id=c1.id, page_token=tok)
    assert [x.id for x in page] == [calls[2].id, calls[1].id, calls[0].id] and tok is None
    everything, _ = await store.list_conferencecalls("cust-1")
    assert len(everything) == 6
    leaved, _ = await store.list_conferencecalls("cust-1", status="leaved")
    assert [x.id for x in leaved] == [calls[1].id]

    live = await store.list_live_conferencecalls(c1.id)
    assert [x.id for x in live] == [calls[i].id for i in (0, 2, 3, 4)]  # join order
    assert len(await store.list_live_conferencecalls()) == 6


# --- tenant scoping -------------------------------------------------------------------------


async def test_tenant_scoping(store: SqlStore) -> None:
    c = conf("cust-a")
    cc = call(c)
    await store.create_conference(c)
    await store.save_conferencecall(cc)
    assert await store.get_conference(c.id, "cust-a") == c
    assert await store.get_conference(c.id, "cust-b") is None
    assert await store.get_conferencecall(cc.id, "cust-a") == cc
    assert await store.get_conferencecall(cc.id, "cust-b") is None
    assert await store.get_conference_by_room("cust-b", c.room) is None
    assert (await store.list_conferences("cust-b"))[0] == []
    assert (await store.list_conferencecalls("cust-b"))[0] == []


# --- transactions -------------------------------------------------------------------------


async def test_transaction_commits_both(store: SqlStore) -> None:
    c, _ = conf().start(at(1))
    cc = call(c, t=2)
    c, _ = c.add_call(cc.id, at(2))
    async with store.transaction() as tx:
        await tx.save_conference(c)
        await store.save_conferencecall(cc)
        assert await store.get_conference(c.id) == c  # sees its own writes
    assert await store.get_conference(c.id) == c
    assert await store.get_conferencecall(cc.id) == cc


async def test_transaction_rollback_leaves_nothing(store: SqlStore) -> None:
    c = conf()
    cc = call(c)
    with pytest.raises(RuntimeError, match="boom"):
        async with store.transaction():
            await store.create_conference(c)
            await store.save_conferencecall(cc)
            raise RuntimeError("boom")
    assert await store.get_conference(c.id) is None
    assert await store.get_conferencecall(cc.id) is None
    # the store is still usable afterwards
    await store.create_conference(c)
    assert await store.get_conference(c.id) == c


async def test_room_taken_inside_transaction_rolls_back(store: SqlStore) -> None:
    await store.create_conference(conf(room="dup"))
    cc = call(conf(), t=1)
    with pytest.raises(RoomTaken):
        async with store.transaction():
            await store.save_conferencecall(cc)
            await store.create_conference(conf(room="dup", t=2))
    assert await store.get_conferencecall(cc.id) is None


async def test_nested_transaction_joins_outer(store: SqlStore) -> None:
    c = conf()
    with pytest.raises(ValueError):
        async with store.transaction():
            async with store.transaction():
                await store.create_conference(c)
            raise ValueError
    assert await store.get_conference(c.id) is None


async def test_other_tasks_do_not_see_uncommitted_and_wait_to_write(store: SqlStore) -> None:
    c = conf()
    other = conf(room="other", t=1)
    inside = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with store.transaction():
            await store.create_conference(c)
            inside.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await inside.wait()
    assert await store.get_conference(c.id) is None  # uncommitted: invisible to others
    blocked = asyncio.create_task(store.create_conference(other))
    await asyncio.sleep(0.05)
    assert not blocked.done()  # waits for the transaction, never joins it
    release.set()
    await task
    await blocked
    assert await store.get_conference(c.id) == c
    assert await store.get_conference(other.id) == other


async def test_cancelled_transaction_rolls_back(store: SqlStore) -> None:
    c = conf()
    inside = asyncio.Event()

    async def writer() -> None:
        async with store.transaction():
            await store.create_conference(c)
            inside.set()
            await asyncio.Event().wait()  # parked until cancelled

    task = asyncio.create_task(writer())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.get_conference(c.id) is None
    async with store.transaction():  # lock released, connection not stuck in a transaction
        await store.create_conference(c)
    assert await store.get_conference(c.id) == c


# --- restart survival -----------------------------------------------------------------------


async def test_reopen_sees_data(make_store: StoreMaker) -> None:
    c, _ = conf().start(at(1))
    cc = call(c)
    async with make_store() as s1:
        await s1.create_conference(c)
        await s1.save_conferencecall(cc)
    async with make_store() as s2:  # schema exists already: migrations are no-ops
        assert await s2.schema_version() == SCHEMA_VERSION
        assert await s2.get_conference(c.id) == c
        assert await s2.get_conferencecall(cc.id) == cc
        with pytest.raises(RoomTaken):  # the index survived too
            await s2.create_conference(conf(room=c.room, t=2))


async def test_refuses_newer_schema(make_store: StoreMaker) -> None:
    async with make_store() as s:
        await s._write("INSERT INTO schema_version VALUES (?, 'x')", (SCHEMA_VERSION + 1,))
    s = make_store()
    with pytest.raises(RuntimeError, match="newer"):
        await s.open()
    await s.close()


async def test_memory_database_works() -> None:
    async with SqliteStore(":memory:") as s:
        c = conf()
        async with s.transaction():
            await s.create_conference(c)
        assert await s.get_conference(c.id) == c


async def test_closed_store_raises(make_store: StoreMaker) -> None:
    s = make_store()
    with pytest.raises(RuntimeError, match="not open"):
        await s.get_conference("x")


# --- the writer's WAL checkpoints ----------------------------------------------------------


async def test_checkpoints_fold_the_wal_into_the_database_off_the_loop(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer's own automatic checkpoints are off (they would stall the event loop);
    # every CHECKPOINT_COMMITS commits one runs on a thread. Proof: the database file
    # alone, without its WAL, holds what was committed.
    monkeypatch.setattr(sqlite_mod, "CHECKPOINT_COMMITS", 3)
    async with SqliteStore(db_path) as s:
        rooms = [conf(room=f"r{i}", t=i) for i in range(3)]
        for c in rooms:
            await s.save_conference(c)
        assert s._checkpointing is not None
        await s._checkpointing
        copy = tmp_path / "copy.sqlite3"
        await asyncio.to_thread(shutil.copyfile, db_path, copy)  # no -wal beside it
        with sqlite3.connect(copy) as plain:
            got = {r[0] for r in plain.execute("SELECT room FROM conferences")}
        assert got == {"r0", "r1", "r2"}
