"""The deliverer's in-memory queues (pure): one head per group at a time, in order; due
times from a heap; tenants take turns under their cap and the global one; a deleted
webhook's groups go."""

from __future__ import annotations

from dataclasses import replace
from itertools import count

from confsvc.domain import now
from confsvc.events.delivery_queues import Queues
from confsvc.events.model import PENDING, Delivery

T0 = 1_000_000.0
_ids = count(1)


def delivery(
    conf: str = "c1", tenant: str = "a", hook: str = "h1", at: float = T0, seq: int = 0
) -> Delivery:
    n = next(_ids)
    return Delivery(
        id=f"d{n}",
        customer_id=tenant,
        kind="webhook",
        webhook_id=hook,
        target=f"webhook:{hook}",
        order_key=conf,
        event_seq=seq or n,
        event_id=f"e{n}",
        event_type="conference_updated",
        url="http://hooks.test/",
        method="POST",
        content_type="application/json",
        body="{}",
        tm_create=now(),
        next_at=at,
    )


def take_all(q: Queues) -> list[Delivery]:
    out = []
    while (taken := q.take()) is not None:
        out.append(taken[1])
    return out


def test_one_head_per_group_in_order() -> None:
    q = Queues(tenant_cap=10, total_cap=10)
    first, second = delivery(), delivery()
    other = delivery(conf="c2")
    for d in (first, second, other):
        q.add(d, T0)
    taken = q.take()
    assert taken is not None and taken[1] == first
    assert take_all(q) == [other]  # c1's second waits for its head
    group = q.groups[first.group]
    q.done(group, first, finished=True, now=T0)
    assert take_all(q) == [second]
    q.done(group, second, finished=True, now=T0)
    assert first.group not in q.groups and q.waiting == 1 and q.in_flight == 1


def test_a_retry_keeps_the_head_until_it_is_due() -> None:
    q = Queues(tenant_cap=10, total_cap=10)
    head, later = delivery(), delivery()
    q.add(head, T0)
    q.add(later, T0)
    group, _ = q.take() or (None, None)
    assert group is not None
    q.done(group, replace(head, attempts=1, next_at=T0 + 2), finished=False, now=T0)
    assert q.take() is None and q.next_due() == T0 + 2
    q.release_due(T0 + 1)
    assert q.take() is None
    q.release_due(T0 + 2)
    taken = q.take()
    assert taken is not None and taken[1].id == head.id and taken[1].attempts == 1


def test_tenants_take_turns_under_their_cap() -> None:
    q = Queues(tenant_cap=2, total_cap=100)
    for n in range(10):
        q.add(delivery(conf=f"a{n}", tenant="a"), T0)
    for n in range(3):
        q.add(delivery(conf=f"b{n}", tenant="b"), T0)
    got = [d.customer_id for d in take_all(q)]
    assert got == ["a", "b", "a", "b"]  # each tenant's cap, taking turns
    assert q.in_flight == 4


def test_the_global_cap() -> None:
    q = Queues(tenant_cap=5, total_cap=3)
    for n in range(4):
        q.add(delivery(conf=f"a{n}", tenant="a"), T0)
        q.add(delivery(conf=f"b{n}", tenant="b"), T0)
    taken = []
    while (t := q.take()) is not None:
        taken.append(t)
    assert len(taken) == 3
    group, d = taken[0]
    q.done(group, d, finished=True, now=T0)
    assert q.take() is not None and q.take() is None


def test_a_busy_tenant_gets_its_turn_back_when_one_finishes() -> None:
    q = Queues(tenant_cap=1, total_cap=10)
    a1, a2 = delivery(conf="a1"), delivery(conf="a2")
    q.add(a1, T0)
    q.add(a2, T0)
    group, d = q.take() or (None, None)
    assert group is not None and d == a1 and q.take() is None  # at its cap
    q.done(group, a1, finished=True, now=T0)
    taken = q.take()
    assert taken is not None and taken[1] == a2


def test_a_deleted_webhook_loses_its_groups_even_in_flight() -> None:
    q = Queues(tenant_cap=10, total_cap=10)
    gone = [delivery(hook="h1"), delivery(hook="h1"), delivery(hook="h1", conf="c2")]
    kept = delivery(hook="h2")
    for d in [*gone, kept]:
        q.add(d, T0)
    group, head = q.take() or (None, None)
    assert group is not None and head == gone[0]
    assert q.drop_webhook("h1") == 2  # the two not in flight
    assert take_all(q) == [kept]
    q.done(group, head, finished=False, now=T0)  # the one in flight comes back: dropped
    assert q.take() is None and q.next_due() is None
    assert q.waiting == 1 and head.group not in q.groups and head.status == PENDING


def test_nothing_is_scanned_a_late_head_waits_in_the_heap() -> None:
    q = Queues(tenant_cap=10, total_cap=10)
    q.add(delivery(conf="late", at=T0 + 60), T0)
    q.add(delivery(conf="now"), T0)
    assert [d.order_key for d in take_all(q)] == ["now"]
    assert q.next_due() == T0 + 60
    q.release_due(T0 + 60)
    assert [d.order_key for d in take_all(q)] == ["late"]
