"""The deliverer's queues, in memory (pure: no I/O, the time is passed in).

- One FIFO per ordering group (target, conference): only its head is ever sent, and only
  one at a time (`busy`), so a group's deliveries go out in order, and a failing head
  holds back its own group only.
- A group whose head is due later waits in one heap ordered by due time; `release_due`
  moves the due ones to their tenant's ready list. Nothing is scanned: each step costs
  O(log n) in the number of waiting groups.
- `take` hands out the next head to send, tenants in turn (round robin), at most
  `tenant_cap` requests in flight per tenant and `total_cap` in all: a tenant with a huge
  backlog or a slow receiver uses its own share only.
- `done` records the outcome of the head in flight: finished (delivered or given up)
  pops it, a retry keeps it with its new due time.
- `drop_webhook` forgets every group of a deleted webhook (its rows are cancelled)."""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass, field

from confsvc.events.model import Delivery

GroupKey = tuple[str, str]


@dataclass(eq=False, slots=True)
class Group:
    key: GroupKey
    customer_id: str
    webhook_id: str | None
    queue: deque[Delivery] = field(default_factory=deque)
    busy: bool = False  # its head is in flight
    due_at: float | None = None  # its entry in the heap (None: none that counts)
    dropped: bool = False  # its webhook was deleted


class Queues:
    def __init__(self, *, tenant_cap: int, total_cap: int) -> None:
        self.tenant_cap = max(1, tenant_cap)
        self.total_cap = max(1, total_cap)
        self.groups: dict[GroupKey, Group] = {}
        self.waiting = 0  # deliveries queued, in flight included
        self.in_flight = 0
        self._heap: list[tuple[float, int, Group]] = []
        self._tie = itertools.count()  # heap entries never compare groups
        self._ready: dict[str, deque[Group]] = {}  # tenant -> groups whose head is due
        self._turns: deque[str] = deque()  # tenants that may send now, in turn
        self._has_turn: set[str] = set()
        self._tenant_in_flight: dict[str, int] = {}

    # --- filling -------------------------------------------------------------------------

    def add(self, d: Delivery, now: float) -> None:
        """A pending delivery, after those of its group already queued."""
        group = self.groups.get(d.group)
        if group is None:
            group = Group(d.group, d.customer_id, d.webhook_id)
            self.groups[d.group] = group
        group.queue.append(d)
        self.waiting += 1
        if len(group.queue) == 1 and not group.busy:
            self._schedule(group, now)

    def drop_webhook(self, webhook_id: str) -> int:
        """Forget the groups of a deleted webhook; returns how many deliveries went. A head
        in flight finishes, but nothing of its group is sent after it."""
        gone = [g for g in self.groups.values() if g.webhook_id == webhook_id]
        dropped = 0
        for group in gone:
            del self.groups[group.key]
            group.dropped = True
            queued = len(group.queue) - (1 if group.busy else 0)
            dropped += queued
            self.waiting -= queued
        return dropped

    # --- timing --------------------------------------------------------------------------

    def release_due(self, now: float) -> None:
        """Groups whose head is due by `now` become ready to send."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            due_at, _, group = heapq.heappop(heap)
            if group.due_at == due_at and not group.busy and not group.dropped:
                self._make_ready(group)

    def next_due(self) -> float | None:
        """When the next waiting head is due (None: nothing waits)."""
        heap = self._heap
        while heap:
            due_at, _, group = heap[0]
            if group.due_at == due_at and not group.busy and not group.dropped:
                return due_at
            heapq.heappop(heap)  # stale: rescheduled, in flight or dropped since
        return None

    # --- sending -------------------------------------------------------------------------

    def take(self) -> tuple[Group, Delivery] | None:
        """The next head to send (its group becomes busy), or None: nothing is ready, or
        the caps are reached."""
        while self._turns and self.in_flight < self.total_cap:
            tenant = self._turns.popleft()
            self._has_turn.discard(tenant)
            ready = self._ready.get(tenant)
            group = None
            while ready:
                candidate = ready.popleft()
                if not candidate.dropped and not candidate.busy and candidate.queue:
                    group = candidate
                    break
            if group is None:
                self._ready.pop(tenant, None)
                continue
            group.busy = True
            group.due_at = None
            self.in_flight += 1
            count = self._tenant_in_flight.get(tenant, 0) + 1
            self._tenant_in_flight[tenant] = count
            self._give_turn(tenant)  # when it has more ready and room under its cap
            return group, group.queue[0]
        return None

    def done(self, group: Group, updated: Delivery, *, finished: bool, now: float) -> None:
        """The head of `group` came back: finished (delivered, given up) or to retry
        (`updated` carries its new due time)."""
        self.in_flight -= 1
        tenant = group.customer_id
        self._tenant_in_flight[tenant] -= 1
        if not self._tenant_in_flight[tenant]:
            del self._tenant_in_flight[tenant]
        group.busy = False
        if not group.dropped:
            if finished:
                group.queue.popleft()
                self.waiting -= 1
            else:
                group.queue[0] = updated
            if group.queue:
                self._schedule(group, now)
            else:
                del self.groups[group.key]
        else:
            self.waiting -= 1  # the head dropped_webhook left counted
        self._give_turn(tenant)

    # --- internals -----------------------------------------------------------------------

    def _schedule(self, group: Group, now: float) -> None:
        due_at = group.queue[0].next_at
        if due_at <= now:
            self._make_ready(group)
            return
        group.due_at = due_at
        heapq.heappush(self._heap, (due_at, next(self._tie), group))

    def _make_ready(self, group: Group) -> None:
        group.due_at = None
        self._ready.setdefault(group.customer_id, deque()).append(group)
        self._give_turn(group.customer_id)

    def _give_turn(self, tenant: str) -> None:
        if (
            tenant not in self._has_turn
            and self._ready.get(tenant)
            and self._tenant_in_flight.get(tenant, 0) < self.tenant_cap
        ):
            self._has_turn.add(tenant)
            self._turns.append(tenant)
