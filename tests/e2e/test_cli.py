"""The operator CLI against a running controller."""

from __future__ import annotations

import asyncio
import json
import sys

from tests.support.controller import Controller
from tests.support.room import create_room


async def cli(controller: Controller, *args: str) -> tuple[int, object]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "confsvc",
        *args,
        "--url",
        controller.base,
        "--token",
        "tenant-a-token",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, json.loads(out)


async def test_cli_lists_creates_and_kicks(controller: Controller) -> None:
    conf = await create_room(controller, "clitest")
    rc, body = await cli(controller, "conferences", "list", "--status", "progressing")
    assert rc == 0
    assert conf["id"] in [c["id"] for c in body["result"]]  # type: ignore[index]
    rc, body = await cli(controller, "conferences", "create", "--room", "clitwo")
    assert rc == 0 and body["room"] == "clitwo"  # type: ignore[index]
    rc, body = await cli(controller, "kick", "no-such-call")
    assert rc == 1 and body["error"] == "conferencecall_not_found"  # type: ignore[index]
