"""The one place that picks the store from CONFSVC_DB_URL (server.py, bench, tests)."""

from __future__ import annotations

from confsvc.store.pg import PgStore
from confsvc.store.sql_base import SqlStore
from confsvc.store.sqlite import SqliteStore

SQLITE = "sqlite:///"


def make_store(url: str) -> SqlStore:
    """An unopened store: `sqlite:///relative/path`, `sqlite:////absolute/path` (as
    SQLAlchemy writes them; `sqlite:///:memory:` too), or `postgresql://...`."""
    if url.startswith(SQLITE):
        return SqliteStore(url[len(SQLITE) :])
    if url.startswith(("postgresql://", "postgres://")):
        return PgStore(url)
    raise ValueError(f"unknown store URL scheme: {url.split(':', 1)[0]!r}")
