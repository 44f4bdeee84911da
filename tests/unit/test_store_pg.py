"""PostgreSQL only: what several processes on one database need (two PgStores stand for
two controllers): migrations that do not race, one winner for a room, events numbered
without gaps and committed in store_seq order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from confsvc.config import Settings
from confsvc.domain.conference_create import create
from confsvc.domain.errors import RoomTaken
from confsvc.domain.ids import new_id, now
from confsvc.events.model import Event
from confsvc.store import SCHEMA_VERSION
from confsvc.store.factory import make_store
from confsvc.store.pg import PgStore
from confsvc.store.pg_dialect import pg_params, to_pg
from confsvc.store.sqlite import SqliteStore
from tests.support.postgres import Postgres


@pytest.fixture
async def url(postgres: Postgres) -> AsyncIterator[str]:
    async with postgres.database() as u:
        yield u


def event(customer: str) -> Event:
    return Event(
        id=new_id(), type="conference_updated", customer_id=customer,
        conference_id="c", resource_id="c", timestamp=now(), data={},
    )  # fmt: skip


async def test_two_processes_migrating_at_once_apply_each_version_once(url: str) -> None:
    stores = [PgStore(url) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        rows = await stores[0]._fetch("SELECT version FROM schema_version ORDER BY version", ())
        versions = [r[0] for r in rows]
        assert versions == sorted(set(versions)) and versions[-1] == SCHEMA_VERSION
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_a_room_raced_for_by_two_processes_has_one_winner(url: str) -> None:
    async with PgStore(url) as a, PgStore(url) as b:
        for i in range(10):
            room = f"race{i}"
            results = await asyncio.gather(
                a.create_conference(create(customer_id="t1", now=now(), room=room)),
                b.create_conference(create(customer_id="t2", now=now(), room=room)),
                return_exceptions=True,
            )
            assert sum(r is None for r in results) == 1, results
            assert sum(isinstance(r, RoomTaken) for r in results) == 1, results


async def test_events_of_two_processes_are_numbered_without_gaps_in_commit_order(
    url: str,
) -> None:
    async with PgStore(url) as a, PgStore(url) as b:

        async def burst(store: PgStore) -> None:
            for _ in range(30):
                async with store.transaction():
                    await store.append_event(event("t1"))
                    await asyncio.sleep(0)  # let the other process interleave
                    await store.append_event(event("t2"))

        await asyncio.gather(burst(a), burst(b))
        for tenant in ("t1", "t2"):
            seqs = [e.seq for e in await a.list_events(tenant, limit=1000)]
            assert seqs == list(range(1, 61))
        every = await a.events_after(0)
        assert [e.store_seq for e in every] == sorted(e.store_seq for e in every)
        assert len(every) == 120


def test_the_store_url_picks_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(make_store("postgresql://u:p@127.0.0.1:1/db"), PgStore)
    rel, absolute = make_store("sqlite:///.runtime/x.db"), make_store("sqlite:////tmp/x.db")
    assert isinstance(rel, SqliteStore) and rel.path == ".runtime/x.db"
    assert isinstance(absolute, SqliteStore) and absolute.path == "/tmp/x.db"
    with pytest.raises(ValueError, match="scheme"):
        make_store("mysql://x")
    monkeypatch.setenv("CONFSVC_DB_PATH", "/tmp/y.db")
    assert Settings().store_url == "sqlite:////tmp/y.db" and Settings().db_problem() is None
    monkeypatch.setenv("CONFSVC_DB_URL", "mysql://x")
    assert "CONFSVC_DB_URL" in (Settings().db_problem() or "")


async def test_listeners_hear_every_processs_events_once_in_order(url: str) -> None:
    """LISTEN/NOTIFY: a WebSocket hub on B hears what A commits (and its own), each once,
    in store_seq order."""
    async with PgStore(url) as a, PgStore(url) as b:
        heard_a: list[Event] = []
        heard_b: list[Event] = []
        a.add_event_listener(heard_a.extend)
        b.add_event_listener(heard_b.extend)

        async def burst(store: PgStore, tenant: str) -> None:
            for _ in range(20):
                await store.append_event(event(tenant))

        await asyncio.gather(burst(a, "ta"), burst(b, "tb"))
        for _ in range(100):  # 5 s at most
            if len(heard_a) >= 40 and len(heard_b) >= 40:
                break
            await asyncio.sleep(0.05)
        for heard in (heard_a, heard_b):
            seqs = [e.store_seq for e in heard]
            assert seqs == sorted(set(seqs)) and len(seqs) == 40
            assert {e.customer_id for e in heard} == {"ta", "tb"}


def test_the_dialect_translation() -> None:
    assert to_pg("SELECT a FROM t WHERE x = ? AND y IN (?, ?)") == (
        "SELECT a FROM t WHERE x = $1 AND y IN ($2, $3)"
    )
    ddl = "CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER, at REAL)"
    assert to_pg(ddl) == "CREATE TABLE t (seq BIGSERIAL PRIMARY KEY, n BIGINT, at DOUBLE PRECISION)"
    assert pg_params([True, False, 3, "x", None]) == [1, 0, 3, "x", None]
