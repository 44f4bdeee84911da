"""The live conferences and their conferencecalls, in memory.

The engine's lanes are the only writers: every state change goes through `EngineCore.save`,
which hands the new version here once it is stored. So the router and every transition
answer "which room is this / which call owns this channel / what is this call's state"
from memory, with no store read on the event path. Terminated conferences and leaved calls
drop out (the store keeps their history; reads of them go to the store).

Loaded from the store at start-up (`load`), before the first reconcile."""

from __future__ import annotations

from collections.abc import Iterable

from confsvc.domain import Conference, Conferencecall
from confsvc.store.base import Store


class Rooms:
    def __init__(self) -> None:
        self.conferences: dict[str, Conference] = {}
        self.calls: dict[str, Conferencecall] = {}
        # Indexes (a call's conference and a conference's callers are in the models).
        self.channels: dict[str, str] = {}  # channel id -> conferencecall id
        self._by_room: dict[str, set[str]] = {}  # room -> live conference ids (all tenants)
        self.loaded = False

    async def load(self, store: Store) -> None:
        """Once per process (the first reconcile): afterwards memory is ahead of the store."""
        if self.loaded:
            return
        self.loaded = True
        for conf in await store.list_live_conferences():
            self.remember(conf)
        for call in await store.list_live_conferencecalls():
            self.remember_call(call)

    # --- writes (EngineCore.save only) ----------------------------------------------------

    def remember(self, conf: Conference) -> None:
        old = self.conferences.get(conf.id)
        if old is not None and old.room != conf.room:
            self._unindex_room(old)
        if not conf.is_live:
            self.conferences.pop(conf.id, None)
            self._unindex_room(conf)
            return
        self.conferences[conf.id] = conf
        self._by_room.setdefault(conf.room, set()).add(conf.id)

    def forget(self, conf: Conference) -> None:
        if self.conferences.get(conf.id) is conf:
            del self.conferences[conf.id]
            self._unindex_room(conf)

    def remember_call(self, call: Conferencecall) -> None:
        if not call.is_live:
            self.forget_call(call)
            return
        self.calls[call.id] = call
        self.channels[call.reference_id] = call.id

    def forget_call(self, call: Conferencecall) -> None:
        self.calls.pop(call.id, None)
        if self.channels.get(call.reference_id) == call.id:
            del self.channels[call.reference_id]

    def _unindex_room(self, conf: Conference) -> None:
        ids = self._by_room.get(conf.room)
        if ids is not None:
            ids.discard(conf.id)
            if not ids:
                del self._by_room[conf.room]

    # --- reads --------------------------------------------------------------------------

    def conference(self, conference_id: str, customer_id: str | None = None) -> Conference | None:
        conf = self.conferences.get(conference_id)
        if conf is None or (customer_id is not None and conf.customer_id != customer_id):
            return None
        return conf

    def call(self, call_id: str, customer_id: str | None = None) -> Conferencecall | None:
        call = self.calls.get(call_id)
        if call is None or (customer_id is not None and call.customer_id != customer_id):
            return None
        return call

    def call_of_channel(self, channel_id: str) -> Conferencecall | None:
        call_id = self.channels.get(channel_id)
        return self.calls.get(call_id) if call_id is not None else None

    def lane_of_call(self, call_id: str) -> str | None:
        """The conference (lane) of a live call."""
        call = self.calls.get(call_id)
        return call.conference_id if call is not None else None

    def live_calls(self, conference_id: str | None = None) -> list[Conferencecall]:
        """Live calls of one conference in the order they came, as the conference lists
        them (conferencecall_ids; saved with each call's admission and leave); or all."""
        if conference_id is None:
            return list(self.calls.values())
        conf = self.conferences.get(conference_id)
        ids = conf.conferencecall_ids if conf is not None else ()
        return [self.calls[c] for c in ids if c in self.calls]

    def live_conferences(self) -> list[Conference]:
        return list(self.conferences.values())

    def by_room(self, room: str) -> list[Conference]:
        """Live conferences with this room name, any tenant, oldest first."""
        found = (self.conferences[c] for c in self._by_room.get(room, ()))
        return sorted(found, key=lambda c: (c.tm_create, c.id))

    def room_of(self, customer_id: str, room: str) -> Conference | None:
        return next((c for c in self.by_room(room) if c.customer_id == customer_id), None)

    def all_channels(self) -> Iterable[str]:
        return self.channels.keys()
