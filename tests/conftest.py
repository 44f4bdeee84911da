"""Session fixtures: one private Asterisk per test session, on non-default loopback ports.

A test that needs Asterisk or a softphone FAILS when it cannot get one: there are no skips
(with CI=true a missing runtime must show, and locally it must show too).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from confsvc.store.pg import PgStore
from confsvc.store.sql_base import SqlStore
from confsvc.store.sqlite import SqliteStore
from tests.support.cluster import Cluster, Kamailio, Node, base, node_env
from tests.support.controller import Controller, running_controller
from tests.support.postgres import Postgres, pg_port
from tests.support.runtime import Runtime, started, test_env


@pytest.fixture(scope="session")
def runtime() -> Iterator[Runtime]:
    with started(Runtime(env=test_env()), "the test Asterisk") as rt:
        yield rt


@pytest.fixture
def backend() -> str:
    """The store of the test's controllers; `@pytest.mark.parametrize("backend", ["sqlite",
    "postgres"])` on a test or module runs it on both."""
    return "sqlite"


@pytest.fixture
async def store_settings(
    backend: str, request: pytest.FixtureRequest
) -> AsyncIterator[dict[str, str]]:
    """The controller settings for `backend`: SQLite in the test's directory (the
    controller's default), or a new empty database on the session's PostgreSQL."""
    if backend == "sqlite":
        yield {}
        return
    pg: Postgres = request.getfixturevalue("postgres")
    async with pg.database() as url:
        yield {"CONFSVC_DB_URL": url}


@pytest.fixture
async def controller(
    runtime: Runtime, tmp_path: Path, store_settings: dict[str, str]
) -> AsyncIterator[Controller]:
    """A fresh controller process (own database) against the session's Asterisk."""
    async with running_controller(runtime, tmp_path / "controller", **store_settings) as ctl:
        yield ctl


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One private PostgreSQL per test session (scripts/pg; fails, never skips)."""
    with started(Postgres(pg_port()), "the test PostgreSQL") as pg:
        yield pg


StoreMaker = Callable[[], SqlStore]


@pytest.fixture(params=["sqlite", "postgres"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreMaker]:
    """The store contract on both backends: make_store() is a new (unopened) store on this
    test's own empty database; called again, another store on the same database (a
    restart, or a second process)."""
    if request.param == "sqlite":
        path = tmp_path / "nested" / "dir" / "confsvc.sqlite3"  # parent dirs do not exist yet
        yield lambda: SqliteStore(path)
        return
    pg: Postgres = request.getfixturevalue("postgres")
    async with pg.database() as url:
        yield lambda: PgStore(url)


@pytest.fixture(scope="session")
def cluster(runtime: Runtime) -> Iterator[Cluster]:
    """Node 2 beside the session's Asterisk and Kamailio in front (tests/support/cluster.py);
    one of each per session, failing (never skipping) when one cannot start."""
    node2 = Node(env=node_env(runtime, 2))
    kamailio = Kamailio(base() + 250, f"http://127.0.0.1:{runtime.s('HTTP_PORT')}")
    with started(node2, "media node 2"), started(kamailio, "Kamailio"):
        yield Cluster(runtime, node2, kamailio)
