"""The one SQL text of the store parts (SQLite's dialect, `?` placeholders) as PostgreSQL
reads it. Only what differs is rewritten, so migrations and queries are written once:

- `?` -> `$1, $2, ...` (asyncpg's placeholders; no store SQL has a `?` in a literal);
- `INTEGER PRIMARY KEY AUTOINCREMENT` -> `BIGSERIAL PRIMARY KEY` (ids never reused);
- `INTEGER` -> `BIGINT` (SQLite integers are 64-bit), `REAL` -> `DOUBLE PRECISION`
  (SQLite's REAL is 8 bytes; PostgreSQL's REAL would round epoch seconds).

Times stay fixed-width ISO 8601 text, lists and dicts JSON text, as in SQLite: the row
mapping (sqlite_schema.py and the parts) is shared, and text order is time order for the
keyset paging (the test cluster is made with --no-locale; any collation orders these
fixed-width strings the same way)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

_PLACEHOLDER = re.compile(r"\?")
_WORDS = (
    (re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"), "BIGSERIAL PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
)


@lru_cache(maxsize=2048)
def to_pg(sql: str) -> str:
    for pattern, replacement in _WORDS:
        sql = pattern.sub(replacement, sql)
    counter = iter(range(1, 1 << 20))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


def pg_params(params: Sequence[Any]) -> list[Any]:
    """Booleans as 0/1: the columns are integers (as in SQLite)."""
    return [int(p) if isinstance(p, bool) else p for p in params]
