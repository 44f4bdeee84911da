"""The event stream inside the controller: every state change makes its events in the
same transaction (real Engine + SqliteStore, fake ARI); emit() for non-state events;
tenant isolation; the migration runner's gap tolerance."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from confsvc.domain import RoomTaken, create_conference, now
from confsvc.engine.errors import AsteriskUnavailable
from confsvc.events.model import Event, Webhook
from confsvc.store import sqlite as sqlite_mod
from confsvc.store.base import Store
from confsvc.store.sqlite import SqliteStore
from confsvc.store.sqlite_schema import MIGRATIONS
from tests.support.fake_ari import EngineHarness, engine_harness


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path) as harness:
        yield harness


async def events_of(h: EngineHarness, customer: str = "cust-a") -> list[Event]:
    return await h.store.list_events(customer, limit=1000)


def types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


async def test_a_callers_life_is_one_ordered_event_stream(h: EngineHarness) -> None:
    conf = await h.create(room="life")
    await h.dial_in("ch-1", "life")
    await h.caller_hangs_up("ch-1")
    events = await events_of(h)
    assert types(events) == [
        "conference_created",
        "conference_updated",  # starting -> progressing
        "conference_updated",  # the caller is admitted (conferencecall_ids)
        "conferencecall_joining",
        "conferencecall_joined",
        "conferencecall_leaving",
        "conference_updated",  # the caller is gone from conferencecall_ids
        "conferencecall_leaved",
    ]
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len({e.id for e in events}) == len(events)
    assert {e.conference_id for e in events} == {conf.id}
    call = await h.call_of("ch-1")
    assert events[-1].data == call.to_json() and events[-1].resource_id == call.id
    assert events[0].data["status"] == "starting" and events[0].data["id"] == conf.id
    await h.engine.delete_conference("cust-a", conf.id)
    last = (await events_of(h))[-1]
    assert last.type == "conference_deleted" and last.data["status"] == "terminated"


async def test_a_failing_save_writes_no_event(h: EngineHarness) -> None:
    await h.create(room="taken")
    before = await events_of(h)
    with pytest.raises(RoomTaken):
        await h.create(room="taken")
    assert await events_of(h) == before
    # A transaction that fails after its saves leaves neither the change nor its events.
    conf = before[0].data["id"]
    stored = await h.conference(conf)
    with pytest.raises(RuntimeError):
        async with h.store.transaction():
            await h.store.save_conference(stored.model_copy(update={"name": "renamed"}))
            raise RuntimeError("crash before commit")
    assert (await h.conference(conf)).name == stored.name
    assert await events_of(h) == before


async def test_the_event_and_the_change_commit_together(
    h: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = await h.create(room="atomic")
    count = len(await events_of(h))

    async def broken(event: Event) -> int:
        raise sqlite3.OperationalError("disk full")

    monkeypatch.setattr(h.store, "append_event", broken)
    with pytest.raises(sqlite3.OperationalError):
        await h.engine.update_conference("cust-a", conf.id, name="never")
    monkeypatch.undo()
    assert (await h.conference(conf.id)).name == conf.name  # the change is undone too
    assert len(await events_of(h)) == count


async def test_health_bookkeeping_makes_no_event(h: EngineHarness) -> None:
    await h.create(room="quiet")
    call = await h.dial_in("ch-1", "quiet")
    count = len(await events_of(h))
    await h.store.save_conferencecall(call.model_copy(update={"health_failures": 1}))
    assert len(await events_of(h)) == count


async def test_recording_events(h: EngineHarness) -> None:
    conf = await h.create(room="rec")
    await h.dial_in("ch-1", "rec")
    await h.engine.start_recording("cust-a", conf.id)
    await h.engine.stop_recording("cust-a", conf.id)
    recs = [e for e in await events_of(h) if e.type.startswith("recording_")]
    assert types(recs) == ["recording_started", "recording_finished"]
    assert recs[0].data["status"] == "recording" and recs[1].data["status"] == "finished"
    assert recs[1].data["download_url"] == f"/v1/recordings/{recs[1].resource_id}/file"
    # Asterisk refuses the start: its recording_started is closed by a failed finish.
    h.ari.fail_record = True
    with pytest.raises(AsteriskUnavailable):
        await h.engine.start_recording("cust-a", conf.id)
    recs = [e for e in await events_of(h) if e.type.startswith("recording_")][2:]
    assert types(recs) == ["recording_started", "recording_finished"]
    assert recs[1].data["status"] == "failed"


async def test_events_and_deliveries_stay_in_their_tenant(h: EngineHarness) -> None:
    await h.store.create_webhook(Webhook("wh-b", "cust-b", "http://b.test/", (), now()))
    await h.create(room="mine", notify_url="http://a.test/notify")
    await h.dial_in("ch-1", "mine")
    assert await events_of(h, "cust-b") == []
    rows = await h.store._fetch("SELECT DISTINCT customer_id, url FROM deliveries", ())
    assert {(r[0], r[1]) for r in rows} == {("cust-a", "http://a.test/notify")}


# --- emit (non-state events) ---------------------------------------------------------------


async def test_awaited_emit_is_stored_and_routed(h: EngineHarness) -> None:
    conf = await h.create(room="dtmf", callback_url="http://cb.test/")
    call = await h.dial_in("ch-1", "dtmf")
    data = {**call.to_json(), "digits": "42"}
    event = await h.engine.bus.emit("conferencecall_digits", "cust-a", data)
    assert event is not None and event.seq > 0 and event.conference_id == conf.id
    assert (await events_of(h))[-1].id == event.id
    rows = await h.store._fetch("SELECT body FROM deliveries WHERE event_id = ?", (event.id,))
    assert [r[0] for r in rows] and "ConferenceDigitsMatch=42" in rows[0][0]


async def test_fire_and_forget_emit_is_stored_in_order(h: EngineHarness) -> None:
    await h.create(room="ff")
    call = await h.dial_in("ch-1", "ff")
    for digits in ("1", "2", "3"):
        h.engine.bus.emit("conferencecall_digits", "cust-a", {**call.to_json(), "digits": digits})
    await h.engine.bus.flush()
    got = [e.data["digits"] for e in await events_of(h) if e.type == "conferencecall_digits"]
    assert got == ["1", "2", "3"]


async def test_emit_keeps_its_place_behind_queued_state_changes(h: EngineHarness) -> None:
    # A join the engine has handed to the writer but not yet committed, then a digit press:
    # the stream must say joined, then digits (one writer queue for both).
    await h.create(room="order")
    call = await h.dial_in("ch-1", "order")
    held = asyncio.Event()

    async def hold(tx: Store) -> None:
        await held.wait()  # a batch in the middle of its commit

    async def state_change(tx: Store) -> None:
        await h.engine.bus.journal.emit(
            tx, "conferencecall_digits", "cust-a", {**call.to_json(), "digits": "1"}
        )

    h.engine.writer.submit(hold)
    await asyncio.sleep(0.01)
    h.engine.writer.submit(state_change)
    h.engine.bus.emit("conferencecall_digits", "cust-a", {**call.to_json(), "digits": "2"})
    await asyncio.sleep(0.01)
    held.set()
    await h.engine.bus.flush()
    got = [e.data["digits"] for e in await events_of(h) if e.type == "conferencecall_digits"]
    assert got == ["1", "2"]


async def test_emit_inside_a_rolled_back_transaction_is_not_stored(h: EngineHarness) -> None:
    await h.create(room="rb")
    call = await h.dial_in("ch-1", "rb")
    with pytest.raises(RuntimeError):
        async with h.store.transaction() as tx:
            await h.engine.bus.journal.emit(tx, "conferencecall_digits", "cust-a", call.to_json())
            raise RuntimeError("undo")
    assert "conferencecall_digits" not in types(await events_of(h))


async def test_emit_never_routes_to_another_tenants_conference(h: EngineHarness) -> None:
    conf = await h.create(room="theirs", notify_url="http://a.test/")
    data = {"id": "x", "conference_id": conf.id}
    event = await h.engine.bus.emit("conferencecall_digits", "cust-b", data)
    assert event is not None and event.customer_id == "cust-b"
    rows = await h.store._fetch("SELECT 1 FROM deliveries WHERE event_id = ?", (event.id,))
    assert rows == []


# --- the migration runner ------------------------------------------------------------------


async def test_a_migration_gap_is_filled_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that got 4 before 3 existed (side-by-side work) gets 3 later."""
    path = tmp_path / "gap.sqlite3"
    without_3 = [m for m in MIGRATIONS if m[0] != 3]
    monkeypatch.setattr(sqlite_mod, "MIGRATIONS", without_3)
    if not any(m[0] == 3 for m in MIGRATIONS):
        pytest.fail("migration 3 is expected in this tree")
    async with SqliteStore(path):
        pass
    monkeypatch.undo()
    async with SqliteStore(path) as store:
        rows = await store._fetch("SELECT version FROM schema_version ORDER BY version", ())
        assert [r[0] for r in rows] == [m[0] for m in sorted(MIGRATIONS)]
        conf = create_conference(customer_id="c", now=now(), room="r")
        await store.create_conference(conf)  # every column of 3 and 4 is there
        assert await store.get_conference(conf.id) == conf
