"""The calls table (migration 5) and the dial-out notification through the real outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from confsvc.config import Settings
from confsvc.domain.dialout import CallStatus, create_calls
from confsvc.domain.member_options import MemberOptions
from confsvc.events.dialout import notify_delivery
from confsvc.events.model import DELIVERED, Event
from confsvc.events.outbox import Outbox
from confsvc.store.sqlite import SqliteStore
from confsvc.store.sqlite_schema import MIGRATIONS
from tests.support.signatures import signed_at_its_timestamp

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def calls(conference_id: str = "conf-1", n: int = 3, **kw: Any) -> list[Any]:
    dests = tuple(f"+65111111{i:02}" for i in range(n))
    return create_calls(customer_id=kw.pop("customer_id", "cust-a"), conference_id=conference_id,
                        room="r", destinations=dests, now=T0, timeout=30, **kw)  # fmt: skip


async def test_migration_5_makes_the_calls_table(tmp_path: Path) -> None:
    assert 5 in {v for v, _ in MIGRATIONS}
    async with SqliteStore(tmp_path / "s.sqlite3") as store:
        assert await store.schema_version() >= 5
        rows = await store._fetch("SELECT name FROM sqlite_master WHERE name = 'calls'", ())
        assert len(rows) == 1


async def test_calls_round_trip_and_counts(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "s.sqlite3") as store:
        made = calls(tag="t", notify_url="https://n.example/", room_created=True)
        for c in made:
            await store.save_call(c)
        await store.save_call(calls("conf-2", 1, customer_id="cust-b")[0])
        assert await store.get_call(made[0].id) == made[0]
        assert await store.get_call(made[0].id, "cust-b") is None
        assert await store.count_open_calls("cust-a") == 3
        assert await store.count_unjoined_calls("conf-1") == 3
        assert await store.room_made_by_dialout("conf-1")
        assert not await store.room_made_by_dialout("conf-2")
        joined = made[0].dialing(T0).answered(T0).joined("member-1", T0)
        ended = made[1].dialing(T0).ended(T0 + timedelta(seconds=1), cause=17)
        await store.save_call(joined)
        await store.save_call(ended)
        assert await store.get_call(ended.id) == ended
        assert await store.count_open_calls("cust-a") == 2
        assert await store.count_unjoined_calls("conf-1") == 1
        assert [c.id for c in await store.list_open_calls("conf-1")] == [made[0].id, made[2].id]
        page, token = await store.list_calls("cust-a", page_size=2)
        assert [c.id for c in page] == [made[2].id, made[1].id] and token
        page, token = await store.list_calls("cust-a", page_size=2, page_token=token)
        assert [c.id for c in page] == [made[0].id] and token is None
        only, _ = await store.list_calls("cust-a", status=CallStatus.ENDED.value)
        assert [c.id for c in only] == [ended.id]


async def test_the_notification_goes_out_signed_and_form_encoded(tmp_path: Path) -> None:
    got: list[tuple[str, str, dict[str, str], bytes]] = []

    async def sender(method: str, url: str, headers: dict[str, str], body: bytes) -> int:
        got.append((method, url, headers, body))
        return 200

    settings = Settings(webhook_secrets="cust-a:s3cret")
    async with SqliteStore(tmp_path / "s.sqlite3") as store:
        call = calls(n=1, tag="order-1", notify_url="https://n.example/hook")[0]
        call = call.dialing(T0).ended(T0 + timedelta(seconds=1), cause=17)
        event = Event(id="ev-1", type="call_ended", customer_id="cust-a",
                      conference_id=call.conference_id, resource_id=call.id, timestamp=T0,
                      data=call.to_json(), seq=7)  # fmt: skip
        delivery = notify_delivery(event, call)
        assert delivery is not None
        await store.add_delivery(delivery)
        assert notify_delivery(event, call.model_copy(update={"notify_url": None})) is None
        at = T0.timestamp() + 5  # the row is due at its event's time
        outbox = Outbox(store, settings, clock=lambda: at, sender=sender)
        assert await outbox.run_once() == 1
        (method, url, headers, body), *_ = got
        assert (method, url) == ("POST", "https://n.example/hook")
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert headers["X-Confsvc-Event"] == "call_ended"
        assert signed_at_its_timestamp("s3cret", headers, body)
        params = dict(parse_qsl(body.decode()))
        assert params["call_status_dest"] == "busy" and params["txn_ref"] == call.id
        assert params["tag"] == "order-1" and params["dest"] == call.dest
        stored = await store.get_delivery(delivery.id)
        assert stored is not None and stored.status == DELIVERED


async def test_a_calls_member_options_round_trip(tmp_path: Path) -> None:
    member = MemberOptions(start_conference_on_enter=False, muted=True, method="GET")
    async with SqliteStore(tmp_path / "s.sqlite3") as store:
        (made,) = calls(n=1, member_options=member)
        await store.save_call(made)
        got = await store.get_call(made.id)
        assert got is not None and got.member_options == member
