"""A database as an older confsvc left it: only the migrations up to a version applied."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from confsvc.store.sqlite_schema import MIGRATIONS


def database_at(path: Path, version: int) -> sqlite3.Connection:
    """An SQLite file at schema `version`; the caller inserts its rows, commits, closes."""
    if version not in {v for v, _ in MIGRATIONS}:
        raise AssertionError(f"migration {version} is expected in this tree")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for applied, statements in sorted(MIGRATIONS):
        if applied <= version:
            for sql in statements:
                db.execute(sql)
            db.execute("INSERT INTO schema_version VALUES (?, 'then')", (applied,))
    return db
