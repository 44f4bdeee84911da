"""The test session's PostgreSQL, started by the project's own scripts/pg (the script
`make run DB=postgres` uses): a private data dir and port (CONFSVC_TEST_PORT_BASE + 170)
on 127.0.0.1, run as the OS user postgres, stopped by pid. One per session; each test
that needs an empty database gets a new one (`new_database`)."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

PROJECT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT / "scripts" / "pg"


def pg_port(port_base: int | None = None) -> int:
    return (port_base or int(os.environ.get("CONFSVC_TEST_PORT_BASE", "25000"))) + 170


@dataclass
class Postgres:
    port: int
    url: str = ""
    made: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONFSVC_PG")}
        # Throwaway data: no fsync (scripts/pg CONFSVC_PG_FAST).
        return {**env, "CONFSVC_PG_PORT": str(self.port), "CONFSVC_PG_FAST": "1"}

    def _run(self, command: str) -> str:
        proc = subprocess.run(
            [str(SCRIPT), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,  # a first run may install the package
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"scripts/pg {command} failed:\n{proc.stdout}{proc.stderr}")
        return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""

    def start(self) -> None:
        self.url = self._run("start")

    def stop(self) -> None:
        self._run("stop")

    def url_of(self, database: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{database}"))

    async def new_database(self) -> str:
        """An empty database of its own; its URL."""
        name = f"t_{secrets.token_hex(6)}"
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.made.append(name)
        return self.url_of(name)

    async def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    @contextlib.asynccontextmanager
    async def database(self) -> AsyncIterator[str]:
        url = await self.new_database()
        try:
            yield url
        finally:
            await self.drop(url)
