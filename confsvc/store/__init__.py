"""Persistence behind the small `Store` protocol: SQLite (the default) or PostgreSQL,
picked by CONFSVC_DB_URL (factory.make_store)."""

from confsvc.store.base import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Store
from confsvc.store.pg import PgStore
from confsvc.store.sqlite import SCHEMA_VERSION, SqliteStore

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "SCHEMA_VERSION",
    "PgStore",
    "SqliteStore",
    "Store",
]
