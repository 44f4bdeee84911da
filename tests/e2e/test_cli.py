"""The operator CLI against a running controller, with a real phone in the room: tables
by default, --json for scripts, every page of a list, calls controls, recording start/stop
and download, webhooks, and `events --follow` tailing the WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from tests.support.controller import Controller
from tests.support.listener import listening
from tests.support.room import create_room, phones, wait_joined
from tests.support.runtime import Runtime


def argv(controller: Controller, *args: str) -> list[str]:
    return [sys.executable, "-m", "confsvc", *args, "--url", controller.base,
            "--token", "tenant-a-token"]  # fmt: skip


async def cli(controller: Controller, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv(controller, *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def cli_json(controller: Controller, *args: str) -> Any:
    rc, out, err = await cli(controller, *args, "--json")
    assert rc == 0, err
    return json.loads(out)


async def test_cli_conferences_tables_json_and_paging(controller: Controller) -> None:
    made = [await create_room(controller, f"clitest{n}") for n in range(3)]
    rc, out, _ = await cli(controller, "conferences", "list", "--status", "progressing")
    assert rc == 0
    head, *rows = out.splitlines()
    assert head.split()[:4] == ["ID", "ROOM", "NAME", "STATUS"]
    assert {r.split()[1] for r in rows} >= {"clitest0", "clitest1", "clitest2"}
    # One item per request: the CLI follows next_page_token to the end.
    body = await cli_json(controller, "conferences", "list", "--page-size", "1")
    assert {c["id"] for c in made} <= {c["id"] for c in body["result"]}
    body = await cli_json(controller, "conferences", "list", "--page-size", "1", "--limit", "2")
    assert len(body["result"]) == 2
    new = await cli_json(controller, "conferences", "create", "--room", "clitwo")
    assert new["room"] == "clitwo"
    rc, out, _ = await cli(controller, "conferences", "get", new["id"])
    assert rc == 0 and "room" in out and "clitwo" in out
    gone = await cli_json(controller, "conferences", "delete", new["id"])
    assert gone["status"] in ("terminating", "terminated")
    rc, out, err = await cli(controller, "kick", "no-such-call")
    assert rc == 1 and "conferencecall_not_found" in err
    rc, out, _ = await cli(controller, "calls", "kick", "no-such-call", "--json")
    assert rc == 1 and json.loads(out)["error"] == "conferencecall_not_found"


async def test_cli_calls_record_recordings_webhooks_events(
    runtime: Runtime, controller: Controller, tmp_path: Path
) -> None:
    follow = await asyncio.create_subprocess_exec(
        *argv(controller, "events", "--follow", "--json", "--since", "0"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with listening() as receiver:
            hook = await cli_json(controller, "webhooks", "add", f"{receiver.base}/h",
                                  "--event-type", "conference_created")  # fmt: skip
            rc, out, _ = await cli(controller, "webhooks", "list")
            assert rc == 0 and hook["id"] in out and "conference_created" in out
            conf = await create_room(controller, "clicalls")
            async with phones(runtime, [440.0], "cli") as (alice,):
                await alice.dial("clicalls")
                await alice.wait_event("CALL_ESTABLISHED")
                await wait_joined(controller, conf["id"], 1)
                calls = await cli_json(controller, "calls", "list", "--conference", conf["id"])
                (call,) = calls["result"]
                rc, out, _ = await cli(controller, "calls", "list", "--conference", conf["id"])
                assert rc == 0 and call["id"] in out and "joined" in out
                assert (await cli_json(controller, "calls", "mute", call["id"]))["muted"] is True
                unmuted = await cli_json(controller, "calls", "unmute", call["id"])
                assert unmuted["muted"] is False
                assert (await cli_json(controller, "calls", "deaf", call["id"]))["deaf"] is True
                started = await cli_json(controller, "record", "start", conf["id"])
                rec_id = started["recording_id"]
                await asyncio.sleep(1.5)
                stopped = await cli_json(controller, "record", "stop", conf["id"])
                assert stopped["recording_id"] is None and rec_id in stopped["recording_ids"]
                recs = await cli_json(controller, "recordings", "list", "--conference", conf["id"])
                assert [(r["id"], r["status"]) for r in recs["result"]] == [(rec_id, "finished")]
                dest = tmp_path / "rec.wav"
                got = await cli_json(controller, "recordings", "download", rec_id, "-o", str(dest))
                assert got["size_bytes"] == dest.stat().st_size > 44
                assert dest.read_bytes()[:4] == b"RIFF"
                await cli_json(controller, "calls", "kick", call["id"])
                await alice.wait_event("CALL_CLOSED")
            rc, _, err = await cli(controller, "webhooks", "remove", hook["id"])
            assert rc == 0, err
            assert hook["id"] not in (await cli(controller, "webhooks", "list"))[1]
        # The follower printed the room's events as they happened.
        seen: list[str] = []
        assert follow.stdout is not None
        while "conferencecall_leaved" not in seen:
            line = await asyncio.wait_for(follow.stdout.readline(), 10)
            assert line, "events --follow ended"
            if line.startswith(b'  "type": '):
                seen.append(json.loads(line.split(b":", 1)[1].rstrip(b",\n")))
        assert seen.index("conference_created") < seen.index("conferencecall_joined")
    finally:
        with contextlib.suppress(ProcessLookupError):
            follow.terminate()
        await follow.wait()
    # Stored events, as a table.
    rc, out, _ = await cli(controller, "events", "--conference", conf["id"])
    assert rc == 0 and "conferencecall_joined" in out and out.startswith("SEQ")
