"""WebSocket fan-out: one hub per process, one bounded queue per client.

The store hands the hub each commit's events (every tenant's, in commit order) right after
the commit; the hub offers each to the clients of its tenant whose topics match (no read
of the events table per commit):
    conference:<id>   that conference's events
    conference:*      every event of the client's tenant
Offering never blocks: a client whose queue is full is marked too slow and dropped (its
connection is told and closed), so a slow reader cannot stall the controller.

Replay: a client that subscribes with `since` (the `seq` - its tenant's event number - or
the public id of the last event it has) first gets the stored events after it, then the
live ones; an event seen in both is sent once (the client's cursor), so a reconnecting
client misses nothing and sees no duplicates. Events never cross tenants: the hub offers
an event only to clients of the event's tenant, and replays read only the client's
tenant."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from confsvc.events.model import Event

log = structlog.get_logger(__name__)

ALL = "*"
TOPIC_PREFIX = "conference:"


class HubStore(Protocol):
    def iter_events(
        self, customer_id: str, *, after: int = 0, conference_id: str | None = None
    ) -> AsyncIterator[Event]: ...

    def add_event_listener(self, fn: Callable[[Sequence[Event]], None]) -> None: ...

    def remove_event_listener(self, fn: Callable[[Sequence[Event]], None]) -> None: ...


def parse_topic(topic: object) -> str | None:
    """'conference:<id>' -> '<id>', 'conference:*' -> '*'; None when malformed."""
    if not isinstance(topic, str) or not topic.startswith(TOPIC_PREFIX):
        return None
    key = topic[len(TOPIC_PREFIX) :]
    if not key or len(key) > 128:
        return None
    return key


@dataclass(frozen=True, slots=True)
class Replay:
    """Queue marker: send the stored events after `since` for these topic keys."""

    since: int
    keys: frozenset[str]


class Client:
    """One WebSocket connection's subscription state and queue."""

    def __init__(self, customer_id: str, queue_size: int) -> None:
        self.customer_id = customer_id
        self.keys: set[str] = set()  # conference ids, or ALL
        self.queue: asyncio.Queue[Event | Replay] = asyncio.Queue(maxsize=max(1, queue_size))
        self.cursor = 0  # highest seq sent after a replay; live events <= it are skipped
        self.too_slow = asyncio.Event()

    def matches(self, event: Event) -> bool:
        return event.customer_id == self.customer_id and (
            ALL in self.keys or event.conference_id in self.keys
        )

    def offer(self, event: Event) -> None:
        if self.too_slow.is_set() or not self.matches(event):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("websocket client too slow: dropped", customer_id=self.customer_id)
            self.too_slow.set()

    def subscribe(self, keys: set[str], since: int | None) -> None:
        """Add topics; with `since`, their stored events after it come first (the marker
        is queued in the same step as the topics change, so it precedes every live event
        of the new topics)."""
        self.keys |= keys
        if since is not None:
            try:
                self.queue.put_nowait(Replay(since, frozenset(keys)))
            except asyncio.QueueFull:
                self.too_slow.set()

    def unsubscribe(self, keys: set[str]) -> None:
        self.keys -= keys

    async def events(self, store: HubStore) -> AsyncIterator[Event]:
        """What to send, in order: replays and live events, each seq at most once."""
        while True:
            item = await self.queue.get()
            if isinstance(item, Replay):
                async for event in self._replay(store, item):
                    yield event
                continue
            if item.seq <= self.cursor or not self.matches(item):
                continue  # already replayed, or unsubscribed since it was queued
            self.cursor = max(self.cursor, item.seq)
            yield item

    async def _replay(self, store: HubStore, replay: Replay) -> AsyncIterator[Event]:
        after = max(replay.since, self.cursor)
        conference_id = None
        if ALL not in replay.keys and len(replay.keys) == 1:
            (conference_id,) = replay.keys
        async for event in store.iter_events(
            self.customer_id, after=after, conference_id=conference_id
        ):
            if ALL in replay.keys or event.conference_id in replay.keys:
                self.cursor = max(self.cursor, event.seq)
                yield event


class Hub:
    def __init__(self, store: HubStore, *, queue_size: int = 1000) -> None:
        self.store = store
        self.queue_size = queue_size
        self.clients: dict[str, set[Client]] = {}  # customer_id -> clients
        self._started = False

    async def start(self) -> None:
        if not self._started:
            self.store.add_event_listener(self.offer)
            self._started = True

    async def close(self) -> None:
        self.store.remove_event_listener(self.offer)
        self._started = False

    def connect(self, customer_id: str) -> Client:
        client = Client(customer_id, self.queue_size)
        self.clients.setdefault(customer_id, set()).add(client)
        return client

    def disconnect(self, client: Client) -> None:
        clients = self.clients.get(client.customer_id)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self.clients[client.customer_id]

    def offer(self, events: Sequence[Event]) -> None:
        """One commit's events (the store's listener): never blocks, never raises for a
        client (a full queue marks that client too slow)."""
        for event in events:
            for client in list(self.clients.get(event.customer_id, ())):
                client.offer(event)
