"""The events part of the process, connected in one place (server.py and the test
harnesses call it): the journal that turns every save into events and deliveries inside
its transaction, and the bus for events that are not state changes."""

from __future__ import annotations

from confsvc.config import Settings
from confsvc.events.bus import Bus
from confsvc.events.journal import Journal
from confsvc.store.base import Store
from confsvc.store.writer import Writer


def connect(store: Store, settings: Settings) -> Bus:
    """From now on every save of the store is journalled; the bus emits into the same
    stream, through the store's one group-commit writer (`bus.writer`, which the engine
    writes its state changes through too: one queue, one order)."""
    journal = Journal(settings)
    store.journal = journal
    return Bus(journal, Writer(store))
