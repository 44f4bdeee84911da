"""Session fixtures: one private Asterisk per test session, on non-default loopback ports.

A test that needs Asterisk or a softphone FAILS when it cannot get one: there are no skips
(with CI=true a missing runtime must show, and locally it must show too).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.controller import Controller, running_controller
from tests.support.runtime import Runtime, started, test_env


@pytest.fixture(scope="session")
def runtime() -> Iterator[Runtime]:
    with started(Runtime(env=test_env()), "the test Asterisk") as rt:
        yield rt


@pytest.fixture
async def controller(runtime: Runtime, tmp_path: Path) -> AsyncIterator[Controller]:
    """A fresh controller process (own SQLite file) against the session's Asterisk."""
    async with running_controller(runtime, tmp_path / "controller") as ctl:
        yield ctl
