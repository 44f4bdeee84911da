"""`make bench DB=postgres` (python -m bench --db postgres): the controller on a private
PostgreSQL (scripts/pg, port base + 170, no fsync as SQLite's WAL mode with
synchronous=NORMAL does not sync each commit either) with a database of its own."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "pg"


def _pg(command: str, port: int) -> str:
    env = {**os.environ, "CONFSVC_PG_PORT": str(port), "CONFSVC_PG_FAST": "1"}
    out = subprocess.run(
        [str(SCRIPT), command], env=env, capture_output=True, text=True, check=True,
        stdin=subprocess.DEVNULL, timeout=600,
    ).stdout  # fmt: skip
    return out.strip().splitlines()[-1] if out.strip() else ""


@contextlib.asynccontextmanager
async def database(port_base: int) -> AsyncIterator[str]:
    """A started PostgreSQL and a new database on it (its URL); stopped afterwards."""
    port = port_base + 170
    url = _pg("start", port)
    name = f"bench_{secrets.token_hex(4)}"
    try:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        _pg("stop", port)
