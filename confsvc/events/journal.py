"""The journal: turns state changes (and emitted non-state events) into stored events and
their outbox rows, inside the transaction of the change.

`events.wiring.connect(store, settings)` (server.py) sets `store.journal`; from then on every
save of a conference, conferencecall or recording goes: read the stored version, write,
`Journal.changed(store, old, new)` -> derive() -> append each event -> plan() its
deliveries -> add them. One transaction: a failing save leaves neither change nor event.
After the commit the store wakes its listeners (outbox, WebSocket hub) and each event is
logged as a structlog line named after its type."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

import structlog

from confsvc.config import Settings
from confsvc.domain import Conference, Conferencecall, Recording, new_id
from confsvc.domain import now as utcnow
from confsvc.events.derive import Resource, derive
from confsvc.events.member_action import action_delivery
from confsvc.events.model import Delivery, Event, Webhook
from confsvc.events.routing import plan

log = structlog.get_logger("confsvc.events")

# The recordings collection of the HTTP API (engine/record.py has the same constant).
RECORDINGS_URL = "/v1/recordings"


class JournalStore(Protocol):
    journal: Journal | None

    async def get_conference(
        self, id: str, customer_id: str | None = None
    ) -> Conference | None: ...

    async def get_conferencecall(
        self, id: str, customer_id: str | None = None
    ) -> Conferencecall | None: ...

    async def append_event(self, event: Event) -> int: ...

    async def webhooks_of(self, customer_id: str) -> list[Webhook]: ...

    async def add_deliveries(self, ds: Sequence[Delivery]) -> None: ...

    def after_commit(self, fn: Any) -> None: ...

    def transaction(self) -> Any: ...


class Journal:
    def __init__(self, settings: Settings) -> None:
        self.dial_host = settings.dial_host
        self.public_url = settings.base_url

    def render(self, resource: Resource) -> dict[str, Any]:
        """The resource's API JSON (what the event's data is)."""
        if isinstance(resource, Conference):
            return resource.to_json(self.dial_host)
        if isinstance(resource, Recording):
            return resource.to_json(RECORDINGS_URL)
        return resource.to_json()

    async def changed(
        self,
        store: JournalStore,
        old: Resource | None,
        new: Resource,
        conference: Conference | None = None,
    ) -> None:
        """Inside the transaction writing `new` (old: the stored version, or None).
        conference: a call's or recording's conference when the writer knows it."""
        types = derive(old, new)
        if not types:
            return
        data = self.render(new)
        floor = None
        if isinstance(new, Conference):
            conf: Conference | None = new
            conference_id = new.id
            floor = await self._floor_moved(store, old, new)  # type: ignore[arg-type]
        else:
            conference_id = new.conference_id
            conf = conference if conference is not None and conference.id == conference_id else None
            if conf is None:
                conf = await store.get_conference(conference_id)
        for kind in types:
            await self._append(store, kind, new.customer_id, conference_id, data, conf, floor)

    async def _floor_moved(
        self, store: JournalStore, old: Conference | None, new: Conference
    ) -> Conferencecall | None:
        """The member who has just become the floor holder, if this change moves it."""
        holder = getattr(new, "floor_conferencecall_id", None)
        if not holder or old is None or getattr(old, "floor_conferencecall_id", None) == holder:
            return None
        return await store.get_conferencecall(holder)

    async def emit(
        self, store: JournalStore, kind: str, customer_id: str, data: dict[str, Any]
    ) -> Event:
        """A non-state event (e.g. conferencecall_digits), in its own transaction or the
        caller's. data: the resource's JSON (conference_id is taken from it)."""
        if kind.startswith("conference_"):
            conference_id = str(data.get("id", ""))
        else:
            conference_id = str(data.get("conference_id", ""))
        async with store.transaction():
            conf = await store.get_conference(conference_id) if conference_id else None
            if conf is not None and conf.customer_id != customer_id:
                conf = None  # never route to another tenant's conference hooks
            return await self._append(store, kind, customer_id, conference_id, data, conf)

    async def _append(
        self,
        store: JournalStore,
        kind: str,
        customer_id: str,
        conference_id: str,
        data: dict[str, Any],
        conf: Conference | None,
        floor: Conferencecall | None = None,
    ) -> Event:
        event = Event(
            id=new_id(),
            type=kind,
            customer_id=customer_id,
            conference_id=conference_id,
            resource_id=str(data.get("id", "")),
            timestamp=utcnow(),
            data=data,
        )
        event = replace(event, seq=await store.append_event(event))
        hooks = await store.webhooks_of(customer_id)
        deliveries = plan(event, conf, hooks, self.public_url, floor)
        action = action_delivery(event, conf, self.public_url)  # a member's Plivo action URL
        if action is not None:
            deliveries.append(action)
        await store.add_deliveries(deliveries)
        store.after_commit(lambda: _log(event))
        return event


def _log(event: Event) -> None:
    try:
        # One short line per event: rendering the whole resource for every event cost as
        # much CPU as the change itself (bench/engine_cpu.py); the data is in the event
        # stream and at debug level.
        log.info(
            event.type,
            customer_id=event.customer_id,
            conference_id=event.conference_id,
            resource_id=event.resource_id,
            event_id=event.id,
            seq=event.seq,
        )
        log.debug("event data", event_id=event.id, data=event.data)
    except Exception:  # pragma: no cover - a broken log sink
        pass
