"""Persistence behind the small `Store` protocol; SQLite today (PostgreSQL later)."""

from confsvc.store.base import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Store
from confsvc.store.sqlite import SCHEMA_VERSION, SqliteStore

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "SCHEMA_VERSION", "SqliteStore", "Store"]
